DROP TABLE pilot_totals;
