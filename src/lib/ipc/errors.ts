import type { CertificateDto } from "$gen/ipc/CertificateDto";
import type { IpcError } from "$gen/ipc/IpcError";
import type { ErrorKind } from "$gen/ipc/ErrorKind";

const KINDS: readonly ErrorKind[] = [
  "auth",
  "untrustedCertificate",
  "forbidden",
  "network",
  "notFound",
  "conflict",
  "massDelete",
  "cancelled",
  "invalidInput",
  "storage",
  "internal",
];

/** A failed command, with the `kind` the UI branches on and the message a person reads. */
export class CommandError extends Error {
  readonly kind: ErrorKind;
  /** With `untrustedCertificate`: the certificate the server showed, for the user to judge. */
  readonly certificate: CertificateDto | null;

  constructor(error: IpcError) {
    super(error.message);
    this.name = "CommandError";
    this.kind = error.kind;
    this.certificate = error.certificate ?? null;
  }
}

function isIpcError(value: unknown): value is IpcError {
  if (typeof value !== "object" || value === null) return false;
  const { kind, message } = value as Record<string, unknown>;
  return typeof message === "string" && KINDS.includes(kind as ErrorKind);
}

/**
 * Turns whatever a rejected `invoke` produced into a `CommandError`.
 *
 * Our commands reject with `{ kind, message }`; Tauri itself rejects with a plain string (for
 * example when a command is not allowed), which becomes an `internal` error with that text.
 */
export function toCommandError(reason: unknown): CommandError {
  if (reason instanceof CommandError) return reason;
  if (isIpcError(reason)) return new CommandError(reason);
  const message = reason instanceof Error ? reason.message : String(reason);
  return new CommandError({ kind: "internal", message });
}
