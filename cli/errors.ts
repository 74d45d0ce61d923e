// An error the CLI prints as one line before exiting non-zero.

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The API answered with an error status. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${message} (HTTP ${status}${type ? `, ${type}` : ''})`);
  }
}
