"""Metric families of today's upstream (UPSTREAM.md): sector plotting by stage and failed
sectors per farm, the farmer's piece cache requests and disk caches, the plotter's counters,
and the node's block/extrinsic counters, fork leaves, ready transactions and start time.
"""

SQL = """
ALTER TABLE farm_metrics ADD COLUMN downloading_mean_s REAL;
ALTER TABLE farm_metrics ADD COLUMN encoding_mean_s REAL;
ALTER TABLE farm_metrics ADD COLUMN writing_mean_s REAL;
ALTER TABLE farm_metrics ADD COLUMN plotting_mean_s REAL;
ALTER TABLE farm_metrics ADD COLUMN plotting_errors REAL;
ALTER TABLE farm_metric_snapshots ADD COLUMN plotting_errors REAL;
ALTER TABLE farmer_metrics ADD COLUMN cache_get_hit REAL;
ALTER TABLE farmer_metrics ADD COLUMN cache_get_miss REAL;
ALTER TABLE farmer_metrics ADD COLUMN cache_find_hit REAL;
ALTER TABLE farmer_metrics ADD COLUMN cache_find_miss REAL;
ALTER TABLE farmer_metrics ADD COLUMN cache_errors REAL;
ALTER TABLE farmer_metrics ADD COLUMN disk_cache_used REAL;
ALTER TABLE farmer_metrics ADD COLUMN disk_cache_capacity REAL;
ALTER TABLE farmer_metrics ADD COLUMN plotter_sectors_plotted REAL;
ALTER TABLE farmer_metrics ADD COLUMN plotter_plotting_errors REAL;
ALTER TABLE node_metrics ADD COLUMN blocks_imported REAL;
ALTER TABLE node_metrics ADD COLUMN extrinsics REAL;
ALTER TABLE node_metrics ADD COLUMN leaves INTEGER;
ALTER TABLE node_metrics ADD COLUMN ready_transactions INTEGER;
ALTER TABLE node_metrics ADD COLUMN process_start_s REAL
"""
