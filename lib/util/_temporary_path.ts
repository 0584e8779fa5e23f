/**
 * Names of the temporary files that atomic writes go through:
 * `<target>.<host>-<pid>.<random>.tmp`, where `<host>` is 8 hex digits of the
 * machine's name (so that a cache shared by several machines can tell whose
 * writer a temporary belongs to) and `<pid>` the writing process.
 *
 * @module
 */
import { createHash } from "node:crypto";

let hostTag: string | undefined;

/** 8 hex digits of SHA-256 of the host name (`""` when the name cannot be read). */
export function _hostTag(): string {
  if (hostTag === undefined) {
    try {
      hostTag = createHash("sha256").update(Deno.hostname()).digest("hex").slice(0, 8);
    } catch {
      hostTag = ""; // no --allow-sys: temporaries without a host part
    }
  }
  return hostTag;
}

/**
 * The temporary for a write of `target` by process `pid` on this machine.
 *
 * @param target The file the write will rename the temporary to.
 * @param pid The writing process (default: this one).
 */
export function _temporaryPath(target: string, pid: number = Deno.pid): string {
  const host = _hostTag();
  const random = crypto.randomUUID().slice(0, 8);
  return `${target}.${host ? `${host}-` : ""}${pid}.${random}.tmp`;
}

/** What a temporary's name says: its target's file name, its writer's host tag and pid. */
export interface TemporaryName {
  target: string;
  /** The writer's host tag; absent in names written before it was added, or without one. */
  host?: string;
  pid: number;
}

const PATTERN = /^(.+)\.(?:([0-9a-f]{8})-)?(\d+)\.([0-9a-f]{8})\.tmp$/;

/** Parses a file name made by {@link _temporaryPath} (or by the pid-only form before it). */
export function _parseTemporaryName(name: string): TemporaryName | undefined {
  const m = PATTERN.exec(name);
  if (!m) return undefined;
  return { target: m[1], ...(m[2] ? { host: m[2] } : {}), pid: Number(m[3]) };
}
