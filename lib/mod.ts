/**
 * GradProm: task-driven medical image enhancement with gradient promotion
 * (Zhang & Cheng, TPAMI 2025), rebuilt on TensorFlow.js.
 *
 * Public surface (re-exports only). Start with {@link setupBackend}, build an
 * enhancement network ({@link srResNet}) and a recognition network
 * ({@link resNet}), and train them with {@link trainLoop} (or step by step
 * with {@link trainStep}) and a strategy ({@link gradProm}, {@link joint},
 * {@link ipOnly}); or run the paper's
 * experiments by id with {@link runGrid} / {@link runExperiment}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradProm, setupBackend } from "./mod.ts";
 * import * as tf from "@tensorflow/tfjs-core";
 * await setupBackend({ quiet: true });
 * const r = gradProm()({ w: tf.tensor([1, 0]) }, { w: tf.tensor([-1, 1]) });
 * assert.equal(r.auxWeight, 0); // the auxiliary gradient conflicts, so it is refused
 * ```
 *
 * @module
 */

// Compute backend
export {
  type BackendInfo,
  type BackendName,
  setupBackend,
  type SetupBackendOptions,
} from "./backend/setup_backend.ts";
export { pixelShuffle } from "./backend/pixel_shuffle.ts";

// Data
export { ISIC2018_CLASSES, ISIC2018_LAYOUT } from "./data/isic2018_classes.ts";
export {
  type IsicBatch,
  type IsicDataset,
  type IsicSplit,
  type IsicTask,
  loadIsic2018,
  type LoadIsic2018Options,
} from "./data/isic2018.ts";
export {
  generateSyntheticIsic2018,
  type SyntheticIsic2018Options,
} from "./data/synthetic_isic2018.ts";
export { addGaussianNoise } from "./data/gaussian_noise.ts";
export { batchSampler } from "./data/batch_sampler.ts";
export {
  addPoissonNoise,
  compositeDegradation,
  type DegradationSpec,
  degrade,
  downsampleBicubic,
  gaussianBlur,
} from "./data/degradations/mod.ts";
export {
  DATASET_IDS,
  datasetFor,
  type DatasetId,
  DATASETS,
  datasetTasks,
  getDataset,
  registerDataset,
  resolveDataset,
  resolveTask,
  TASK_ALIASES,
} from "./data/registry.ts";
export { FOLDER_DATASET, type FolderScan, scanFolder } from "./data/folder.ts";
export type {
  DatasetDescriptor,
  DatasetTask,
  LoadedSplit,
  LoadSplitOptions,
  RecognitionTask,
} from "./data/dataset_descriptor.ts";
export {
  type DataLock,
  datasetChecksums,
  inspectDataset,
  readLock,
  readManifest,
  verifyDataset,
} from "./data/manifest.ts";
export {
  COVID_CT_CLASSES,
  COVID_CT_LAYOUT,
  type CovidCtDataset,
  describeCovidCtLayout,
  loadCovidCt,
  type LoadCovidCtOptions,
} from "./data/covid_ct.ts";
export {
  generateSyntheticCovidCt,
  type SyntheticCovidCtOptions,
} from "./data/synthetic_covid_ct.ts";
export {
  describeLizardLayout,
  LIZARD_CLASSES,
  LIZARD_LAYOUT,
  type LizardDataset,
  type LizardTask,
  loadLizard,
  type LoadLizardOptions,
} from "./data/lizard.ts";
export { generateSyntheticLizard, type SyntheticLizardOptions } from "./data/synthetic_lizard.ts";
export {
  CAMUS_CLASSES,
  CAMUS_LAYOUT,
  type CamusDataset,
  describeCamusLayout,
  loadCamus,
  type LoadCamusOptions,
} from "./data/camus.ts";
export { generateSyntheticCamus, type SyntheticCamusOptions } from "./data/synthetic_camus.ts";
export { readImage, type ReadImageOptions } from "./io/read_image.ts";
export { readMask, type ReadMaskOptions } from "./io/read_mask.ts";
export { type MatArray, readMat, type ReadMatOptions, toRowMajor2d } from "./io/mat_v5.ts";
export { type NiftiImage, readNifti } from "./io/nifti.ts";
export { type MetaImage, readMetaImage } from "./io/metaimage.ts";
export { type MatVariable, writeMat } from "./io/mat_v5_write.ts";
export { encodeNifti, writeNifti } from "./io/nifti_write.ts";
export { writeMetaImage } from "./io/metaimage_write.ts";

// Models
export { type ForwardContext, Module } from "./models/module.ts";
export {
  SR_RESNET_DEFAULTS,
  type SrResNet,
  srResNet,
  type SrResNetOptions,
} from "./models/sr_resnet.ts";
export { type ResNet, resNet, RESNET_DEFAULTS, type ResNetOptions } from "./models/resnet.ts";
export { type UNet, unet, UNET_DEFAULTS, type UNetOptions } from "./models/unet.ts";
export { loadWeights, saveWeights } from "./models/checkpoint.ts";

// Metrics
export { psnr, type PsnrOptions, psnrPerImage } from "./metrics/psnr.ts";
export { ssim, type SsimOptions, ssimPerImage } from "./metrics/ssim.ts";
export { accuracy } from "./metrics/accuracy.ts";
export {
  type AbsentClass,
  confusionMatrix,
  dice,
  meanIoU,
  type MeanIoUOptions,
  perClassDice,
  perClassIoU,
  type SegInput,
} from "./metrics/miou.ts";

// Class activation maps
export { gradCam, type GradCamOptions } from "./cam/grad_cam.ts";
export { segmentationCam, type SegmentationCamOptions } from "./cam/segmentation_cam.ts";
export { camOverlay, type CamOverlayOptions, jetColormap } from "./cam/cam_overlay.ts";

// Strategies (the paper's, and gradient-surgery baselines on the same contract)
export {
  caGrad,
  type CaGradOptions,
  defineStrategy,
  getStrategy,
  gradientSimilarity,
  type GradientSimilarityOptions,
  gradProm,
  type GradPromOptions,
  gradVac,
  type GradVacOptions,
  type GradVacStrategy,
  ipOnly,
  joint,
  mgda,
  type MgdaOptions,
  pcGrad,
  type PcGradOptions,
  registerStrategy,
  STRATEGIES,
  type Strategy,
  type StrategyFactory,
  type StrategyName,
  type StrategyResult,
} from "./strategies/mod.ts";

// Training
export { crossEntropyLoss, mseLoss } from "./train/losses.ts";
export {
  NonFiniteLossError,
  type StepLog,
  type TrainBatch,
  trainStep,
  type TrainStepSetup,
  trainVrStep,
  type VrMode,
} from "./train/train_step.ts";
export { Progress } from "./train/progress.ts";
export { FusedAdam, FusedSgd } from "./train/fused_optimizer.ts";
export { recordTape, type TapeRecording } from "./train/tape.ts";
export {
  type BatchOf,
  type BatchSource,
  type TrainEvent,
  type TrainLog,
  trainLoop,
  type TrainLoopOptions,
  type TrainLoopResult,
  type VrBatch,
  type VrTrainSetup,
} from "./train/train_loop.ts";

// Experiments
export {
  checkConfigValues,
  type Dataset,
  DEFAULT_CONFIG,
  type ExperimentConfig,
  mergeConfig,
  type Method,
  METHODS,
  resolveDataPaths,
  type Task,
} from "./experiments/config.ts";
export {
  checkStrategyOptions,
  isMethod,
  METHOD_IDS,
  METHOD_SPECS,
  type MethodId,
  type MethodSpec,
  methodSpec,
  methodStrategy,
  PAPER_ROLES,
  REFERENCE_ROWS,
  registerMethod,
  type RowMethod,
  type RowStyle,
  rowStyle,
  type StrategyOptionsOf,
  type StrategyRef,
  type TrainOptionKey,
} from "./experiments/methods.ts";
export {
  COMPOSITE_DEGRADATION,
  CROSS_DOMAIN_PAPER,
  datasetOverrides,
  EXPERIMENTS,
  type ExperimentSpec,
  getExperiment,
  LAMBDA_SWEEP,
  type Profile,
  PROFILES,
  SGD_LR,
  TABLE5_METHODS,
} from "./experiments/registry.ts";
export { type NotebookEntry, NOTEBOOKS } from "./experiments/notebook_index.ts";
export {
  checkConfig,
  degradationSpec,
  degradeTestImages,
  describeDegradation,
  LIB_VERSION,
  loadRunModels,
  type RunEvent,
  runExperiment,
  runKey,
  runKeyOnBackend,
  type RunModels,
  type RunOptions,
  type RunResult,
  runWarnings,
} from "./experiments/run_experiment.ts";
export { runGrid } from "./experiments/run_grid.ts";
export {
  checkDatasetId,
  CLI_DATASET_SOURCE,
  type DatasetSource,
  gridOnDataset,
} from "./experiments/grid_on_dataset.ts";
export { ResultsCache } from "./experiments/results_cache.ts";
export {
  checkClaims,
  type ClaimCheck,
  claimsHtml,
  claimsTableMarkdown,
  describeVerdict,
  formatDelta,
  observations,
  observationsMarkdown,
  summarize,
  tableCsv,
  tableHtml,
  tableMarkdown,
  type TableRow,
} from "./experiments/summarize.ts";
export {
  auxGateMarkdown,
  buildReport,
  claimsMarkdown,
  crossDomainBestMarkdown,
  crossDomainMarkdown,
  type ExperimentReport,
  experimentReport,
  gapMarkdown,
  gateDynamicsFigure,
  type GateDynamicsOptions,
  gateDynamicsRuns,
  gateShareMarkdown,
  layerConflictMarkdown,
  lesionMarkdown,
  type LoadOptions,
  loadRuns,
  type NotebookParams,
  notebookParams,
  qualitativeClaimsMarkdown,
  qualitativePsnrMarkdown,
  qualitativeRuns,
  qualitativeSetupMarkdown,
  qualitativeWinsMarkdown,
  type Setting,
  settingOf,
  settingSweepFigure,
  setupMarkdown,
  tableDisplay,
  tableFigures,
  taskAttentionCosineMarkdown,
  taskAttentionPsnrMarkdown,
  taskAttentionReadingsMarkdown,
  taskAttentionRuns,
  taskAttentionSetupMarkdown,
} from "./experiments/report.ts";

// The two-parameter toy problem of Fig. 1
export {
  simulate,
  SIMULATE_DEFAULTS,
  type SimulateOptions,
  type ToyTrajectory,
  type TwoParamProblem,
  twoParamProblem,
  type TwoParamProblemOptions,
  type Vec2,
} from "./toy/mod.ts";

// Plots and notebooks
export { plotly, type PlotlyFigure } from "./plots/plotly.ts";
export { markdown, show } from "./plots/display.ts";
export {
  dynamicsFigure,
  layerCosineFigure,
  metricBarFigure,
  sweepFigure,
} from "./plots/table_figures.ts";
export {
  toyContourFigure,
  toyGateFigure,
  toyLossFigure,
  toyTableMarkdown,
} from "./plots/toy_figures.ts";
export { checkNotebookTooling, executeNotebook } from "./notebook/execute_notebook.ts";
export {
  type NotebookHtmlCopies,
  notebookHtmlCopies,
  notebookToHtml,
} from "./notebook/notebook_html.ts";
export {
  type ReportMeta,
  type ReportNotebook,
  type ReportSection,
  writeReport,
} from "./experiments/report_page.ts";

// Paper figures as PNG/SVG through headless Chromium
export { ChromiumNotFoundError, findChromium } from "./figures/find_chromium.ts";
export {
  type ExportedFigure,
  FigureExporter,
  type FigureExporterOptions,
} from "./figures/figure_exporter.ts";
export { experimentResults, type FigureContext } from "./figures/experiment_results.ts";
export { type FigureOutput, FIGURES, type FigureSpec, getFigure } from "./figures/registry.ts";
export { exportFigures, type WrittenFigure } from "./figures/export_figures.ts";
export {
  fig1Figures,
  fig1ProblemMarkdown,
  type Fig1Runs,
  fig1Runs,
  type Fig1Settings,
  fig1Settings,
  fig1SummaryMarkdown,
} from "./figures/fig1_toy.ts";

// Cluster (Slurm)
export {
  formatMissing,
  formatStatusLine,
  type GridEntry,
  type GridPlan,
  type GridStatus,
  gridStatus,
  planGrid,
  renderBatchScript,
  submitGrid,
  type SubmitOptions,
  type SubmitResult,
} from "./slurm/mod.ts";

// Qualitative figures: image grids, attention maps, CAMs
export {
  type GridImage,
  gridImages,
  type GridImagesOptions,
  imageGridFigure,
  imageGridHtml,
  type ImageGridOptions,
} from "./plots/image_grid.ts";
export { mapImages, type MapImagesOptions } from "./plots/map_images.ts";
export {
  taskAttention,
  type TaskAttentionMaps,
  type TaskAttentionNetworks,
  type TaskAttentionOptions,
} from "./plots/attention_maps.ts";
export { type MapStats, mapStats, mapStatsFigure } from "./plots/attention_stats.ts";
export { type DegradedTestSet, degradedTestSet } from "./plots/degraded_test_set.ts";
export {
  TASK_MAPS,
  taskAttentionConfigs,
  type TaskAttentionFigures,
  taskAttentionFigures,
} from "./plots/task_attention_figures.ts";
export {
  QUALITATIVE_METHODS,
  qualitativeConfigs,
  type QualitativeFigures,
  qualitativeFigures,
} from "./plots/qualitative_figures.ts";
