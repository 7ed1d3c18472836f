import { spawnSync, type ChildProcess } from 'node:child_process';

/** Runs a set-up command (stack, migrations, seed) in the foreground; a failure stops the bench. */
export function step(command: string, commandArgs: string[]): void {
  const result = spawnSync(command, commandArgs, { stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed`);
}

/** Waits until an app process answers its readiness URL with 2xx (90 s at most), or fails if it exited. */
export async function waitUntilReady(url: string, app: ChildProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (app.exitCode !== null) throw new Error(`the app exited with ${app.exitCode}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the app was not ready at ${url} within 90 s`);
}
