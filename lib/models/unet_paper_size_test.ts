import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { unet } from "./unet.ts";

await setupBackend({ quiet: true });

// Builds the full-size networks (≈ 65 M floats, a few seconds): kept in a file of its own.
Deno.test("unet() at Ronneberger's size has the reference parameter counts", () => {
  // depth 4, 64 base channels, BN, 'same' padding, transposed-conv upsampling: the count of
  // milesial/Pytorch-UNet's UNet(n_channels=3, n_classes=2), 31,037,698, also derived by hand:
  // Σ levels (9·cin·cout + 9·cout² + 4·cout) + Σ ups (4·cin·cout + cout) + 64·2 + 2.
  const paper = unet({ depth: 4, baseWidth: 64, classes: 2 });
  assert.equal(paper.module.parameterCount(), 31_037_698);
  paper.module.dispose();
  // Bilinear resize + 3×3 conv in place of each 2×2 transposed conv: 5 more weights per pair.
  const bilinear = unet({ depth: 4, baseWidth: 64, classes: 2, upsampling: "bilinear" });
  const pairs = [1024 * 512, 512 * 256, 256 * 128, 128 * 64].reduce((a, b) => a + b, 0);
  assert.equal(bilinear.module.parameterCount(), 31_037_698 + 5 * pairs);
  bilinear.module.dispose();
});
