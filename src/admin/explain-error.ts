// The error of `strata policy explain` and POST /v1/policy/explain (a status and code for the
// admin API, a message for the CLI). In its own file so that the CLI can recognise it without
// loading the operations the explanation needs.
export class ExplainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
