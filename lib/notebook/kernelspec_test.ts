import assert from "node:assert/strict";
import { join } from "node:path";
import { DENO_KERNEL_NAME, writeDenoKernelspec } from "./kernelspec.ts";

Deno.test("writeDenoKernelspec() writes a Deno kernel.json and returns the JUPYTER_PATH entry", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = await writeDenoKernelspec(join(dir, "sub", ".jupyter"));
    assert.equal(root, join(dir, "sub", ".jupyter"));
    const spec = JSON.parse(
      await Deno.readTextFile(join(root, "kernels", DENO_KERNEL_NAME, "kernel.json")),
    );
    assert.deepEqual(spec.argv, [
      Deno.execPath(),
      "jupyter",
      "--kernel",
      "--conn",
      "{connection_file}",
    ]);
    assert.equal(spec.display_name, "Deno (GradProm)");
    assert.equal(spec.language, "typescript");
    assert.equal(spec.env.NO_COLOR, "1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeDenoKernelspec() uses the given deno path and overwrites atomically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Promise.all([
      writeDenoKernelspec(dir, "/opt/deno/bin/deno"),
      writeDenoKernelspec(dir, "/opt/deno/bin/deno"),
    ]);
    const kernelDir = join(dir, "kernels", "deno");
    const spec = JSON.parse(await Deno.readTextFile(join(kernelDir, "kernel.json")));
    assert.equal(spec.argv[0], "/opt/deno/bin/deno");
    const names = [];
    for await (const entry of Deno.readDir(kernelDir)) names.push(entry.name);
    assert.deepEqual(names, ["kernel.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeDenoKernelspec() rejects a relative deno path", async () => {
  await assert.rejects(
    writeDenoKernelspec("/tmp/unused", "bin/deno"),
    /Expected an absolute deno path but found "bin\/deno"/,
  );
});
