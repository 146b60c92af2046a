/** Errors of the simulated API server, with the HTTP code and reason a real client would see. */

export type ApiReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'Forbidden' | 'BadRequest'

const CODES: Record<ApiReason, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  Forbidden: 403,
  BadRequest: 400,
}

export class ApiError extends Error {
  readonly code: number
  readonly reason: ApiReason

  constructor(reason: ApiReason, message: string) {
    super(message)
    this.name = 'ApiError'
    this.reason = reason
    this.code = CODES[reason]
  }
}

export function isApiError(error: unknown, reason?: ApiReason): error is ApiError {
  return error instanceof ApiError && (reason === undefined || error.reason === reason)
}
