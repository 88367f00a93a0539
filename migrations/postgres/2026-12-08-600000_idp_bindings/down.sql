DROP TABLE idp_bindings;
