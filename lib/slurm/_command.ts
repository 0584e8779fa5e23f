/**
 * Runs Slurm's client commands (sbatch, squeue, sacct) and collects their output.
 *
 * @module
 */

/** Output of a finished command. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion; a missing binary gives exit code 127 and a message instead of throwing.
 *
 * @param cmd Command name (looked up on `PATH`).
 * @param args Arguments.
 * @param env Extra environment (added to this process's).
 */
export async function runCommand(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandOutput> {
  try {
    const r = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
    const dec = new TextDecoder();
    return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${cmd}: command not found on PATH` };
    }
    throw e;
  }
}
