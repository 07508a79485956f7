/**
 * The few error classes the whole code base throws. They know nothing of HTTP: the error
 * middleware in http/ maps `error.name` to a status (Backstage's packages/errors).
 */

abstract class ChaosHandlerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller's input is wrong; the message names what is wrong. */
export class InputError extends ChaosHandlerError {
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The thing asked for does not exist (or the caller may not learn that it does). */
export class NotFoundError extends ChaosHandlerError {}

/** The request conflicts with the current state (e.g. too many incidents on one target). */
export class ConflictError extends ChaosHandlerError {}

/** The caller is not allowed to do this (missing or wrong token, target not enrolled). */
export class NotAllowedError extends ChaosHandlerError {}

/** A command on a remote host failed; carries what a human needs to see why. */
export class RemoteCommandError extends ChaosHandlerError {
  constructor(
    message: string,
    readonly details: {
      host: string;
      command: string;
      exitCode: number | null;
      signal: string | null;
      stderrTail: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Something took longer than its deadline. */
export class TimeoutError extends ChaosHandlerError {
  constructor(
    message: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The error's message, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The caller did not prove who it is (missing or wrong bearer token). */
export class AuthenticationError extends ChaosHandlerError {}
