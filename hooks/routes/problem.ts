import type { FastifyReply } from 'fastify'

// RFC 7807 problem bodies for every error answer. `detail` names what is wrong; it never echoes request content
// beyond field names, so no secret from a request can come back in an error.

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export const problem = (status: number, detail: string): Problem => ({
  type: 'about:blank',
  title: TITLES[status] ?? 'Error',
  status,
  detail,
})

export function sendProblem(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.code(status).type('application/problem+json').send(problem(status, detail))
}
