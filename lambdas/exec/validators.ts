// Config validators: the only commands the operate tier may run in a service's container, each
// listed in the deployed config (services.<name>.validators) and matched word for word.

import { ServiceTarget } from '../../lib/config';
import { ValidationError } from '../shared/errors';

export function requireConfiguredValidator(
  target: ServiceTarget,
  command: readonly string[],
  field = 'validate',
): void {
  const allowed = target.validators ?? [];
  const same = (v: readonly string[]) => v.length === command.length && v.every((w, i) => w === command[i]);
  if (!allowed.some(same)) {
    const list = allowed.map((v) => JSON.stringify(v)).join(', ') || '(none)';
    throw new ValidationError(
      field,
      `is not one of the validators configured for ${target.name}: ${list} (add it to services.${target.name}.validators)`,
    );
  }
}
