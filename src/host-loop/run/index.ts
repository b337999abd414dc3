export { MetricsWriter, readMetrics, parseMetrics, truncateMetrics, formatMetricsLine } from './metrics.ts';
export type { IterationMetrics, MetricsFile, MetricsWriterOptions } from './metrics.ts';
export { writeFileAtomic } from './atomic.ts';
export {
  CheckpointError,
  CheckpointStore,
  encodeCheckpoint,
  decodeCheckpoint,
  writeCheckpoint,
  readCheckpoint,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
} from './checkpoint.ts';
export type { Checkpoint, CheckpointErrorCode, StoredCheckpoint } from './checkpoint.ts';
export { lineChartSvg, niceTicks, escapeXml, PALETTE } from './svg.ts';
export type { Series, SeriesPoint, LineChartOptions } from './svg.ts';
export { seriesFor, summarizeRuns } from './aggregate.ts';
export type { RunRecord, SummaryRow, MetricKey } from './aggregate.ts';
export { buildPlots, buildReportHtml, writeReport } from './report.ts';
export type { ReportPlot } from './report.ts';
export { formatTable, formatSummaryTable, summaryCells, SUMMARY_HEADERS } from './table.ts';
export { meanSd, formatMeanSd, formatNumber } from './stats.ts';
export type { MeanSd } from './stats.ts';
