/**
 * The seven ISIC 2018 Task 3 (HAM10000) diagnosis classes, in the column order of
 * the official ground-truth CSV.
 *
 * @module
 */

/**
 * Class names of ISIC 2018 Task 3, in CSV column order: melanoma, melanocytic nevus,
 * basal cell carcinoma, actinic keratosis / Bowen's disease (intraepithelial
 * carcinoma), benign keratosis, dermatofibroma, vascular lesion. A label is the
 * index into this list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ISIC2018_CLASSES } from "./isic2018_classes.ts";
 * assert.equal(ISIC2018_CLASSES.indexOf("NV"), 1);
 * ```
 */
export const ISIC2018_CLASSES = ["MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"] as const;

/** One of {@linkcode ISIC2018_CLASSES}. */
export type Isic2018Class = (typeof ISIC2018_CLASSES)[number];

/** Folder and file names of the official ISIC 2018 training data (as distributed). */
export const ISIC2018_LAYOUT = {
  task1Input: "ISIC2018_Task1-2_Training_Input",
  task1GroundTruth: "ISIC2018_Task1_Training_GroundTruth",
  task1MaskSuffix: "_segmentation.png",
  task3Input: "ISIC2018_Task3_Training_Input",
  task3GroundTruth: "ISIC2018_Task3_Training_GroundTruth",
  task3Csv: "ISIC2018_Task3_Training_GroundTruth.csv",
} as const;
