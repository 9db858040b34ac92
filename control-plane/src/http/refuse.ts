import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { AppError, ERROR_HEADER, type ErrorCode } from "@codepiper/core";
import { httpStatusOf } from "../errors.js";

/** Answers a WebSocket upgrade with a real HTTP error carrying the code, then closes the socket. */
export function refuseUpgrade(socket: Duplex, err: unknown): ErrorCode {
  const code: ErrorCode = err instanceof AppError ? err.code : "CODEPIPER_INTERNAL";
  const message = err instanceof AppError ? err.message : "internal error";
  const status = httpStatusOf(code);
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
        `Content-Type: application/json\r\n${ERROR_HEADER}: ${code}\r\nConnection: close\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  return code;
}
