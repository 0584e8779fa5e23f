import assert from "node:assert/strict";
import { setupBackend } from "../backend/setup_backend.ts";
import { resNet, resNetPreset, type ResNetPresetName } from "./resnet.ts";

await setupBackend({ quiet: true });

/** torchvision 0.x `sum(p.numel() for p in resnetXX(num_classes=1000).parameters())`. */
const TORCHVISION: Record<ResNetPresetName, number> = {
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  resnet101: 44_549_160,
};

// Builds the full-size networks (≈ 100 M floats in all, a few seconds): kept in a file of its own.
Deno.test("resNetPreset() at width 1 has torchvision's parameter counts (1000 classes)", () => {
  for (const [name, expected] of Object.entries(TORCHVISION) as [ResNetPresetName, number][]) {
    const net = resNet(resNetPreset(name, { classes: 1000 }), 0);
    assert.equal(net.module.parameterCount(), expected, name);
    net.module.dispose();
  }
});
