DROP INDEX fx_rates_loaded_at;
