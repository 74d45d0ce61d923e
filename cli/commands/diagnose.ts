// `sidekick diagnose <service>`

import { Diagnosis } from '../../lambdas/diagnose/contract';
import { ApiClient } from '../api-client';
import { ago, shortTask } from '../format';
import { Output } from '../output';

export async function diagnoseCommand(
  api: ApiClient,
  out: Output,
  service: string,
  options: { tasks?: number; lines?: number },
) {
  const d = await api.call<Diagnosis>(
    'diagnose',
    { service },
    { tasks: options.tasks, lines: options.lines },
  );
  if (out.json) return out.print(d);
  out.print(`${d.service}: ${d.summary}`);
  if (d.nextStep) out.print(`Next step: ${d.nextStep}`);
  for (const t of d.stoppedTasks) {
    out.print(
      `\n■ task ${shortTask(t.id)} (${t.taskDefinition}) stopped ${ago(t.stoppedAt)}: ${t.cause}${t.neverStarted ? ', never started' : ''}`,
    );
    out.print(`  ${t.hint}`);
    out.print(`  next: ${t.nextStep}`);
    if (t.stopCode || t.stoppedReason)
      out.print(`  ECS: ${[t.stopCode, t.stoppedReason].filter(Boolean).join(': ')}`);
    for (const c of t.containers) {
      const exit = c.exitCode !== undefined ? `exit ${c.exitCode}` : 'no exit code';
      out.print(
        `  - ${c.name}${c.essential ? ' (essential)' : ''}: ${exit}${c.reason ? `, ${c.reason}` : ''}`,
      );
      if (c.logs.note) out.print(`      logs: ${c.logs.note}`);
      for (const line of c.logs.lines.slice(-10)) out.print(`      │ ${line}`);
      if (c.logs.lines.length > 10)
        out.print(`      (${c.logs.lines.length - 10} earlier lines with --output json)`);
    }
    for (const e of t.events.slice(0, 5)) out.print(`  event ${ago(e.at)}: ${e.message}`);
  }
  if (d.findings.length > 0) out.print('\nFindings:');
  for (const f of d.findings) out.print(`  ${f.kind}: ${f.message}\n    next: ${f.nextStep}`);
}
