"""Recent-window auditing and proving statistics beside the since-start ones in farm_metrics."""

SQL = """
ALTER TABLE farm_metrics ADD COLUMN auditing_recent_mean_s REAL;
ALTER TABLE farm_metrics ADD COLUMN auditing_recent_p99_s REAL;
ALTER TABLE farm_metrics ADD COLUMN proving_recent_mean_s REAL;
ALTER TABLE farm_metrics ADD COLUMN proving_recent_p99_s REAL
"""
