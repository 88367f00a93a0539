//! Parquet for exported tables: one row group, plain encoding, no
//! compression (the tables are a few thousand rows), written with the
//! `parquet` crate's column writers, no Arrow. Columns are typed: text as
//! UTF-8 strings, counts as INT64, rates as DOUBLE, flags as BOOLEAN; a
//! nullable column is OPTIONAL and its nulls are real nulls, not empty text.

use std::sync::Arc;

use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

/// One column's values, every column as long as the others.
pub enum Column {
    Text(Vec<String>),
    OptText(Vec<Option<String>>),
    Int(Vec<i64>),
    OptInt(Vec<Option<i64>>),
    OptFloat(Vec<Option<f64>>),
    Bool(Vec<bool>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::OptText(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::OptInt(v) => v.len(),
            Column::OptFloat(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }

    fn schema_line(&self, name: &str) -> String {
        let (repetition, physical) = match self {
            Column::Text(_) => ("REQUIRED", "BINARY"),
            Column::OptText(_) => ("OPTIONAL", "BINARY"),
            Column::Int(_) => ("REQUIRED", "INT64"),
            Column::OptInt(_) => ("OPTIONAL", "INT64"),
            Column::OptFloat(_) => ("OPTIONAL", "DOUBLE"),
            Column::Bool(_) => ("REQUIRED", "BOOLEAN"),
        };
        let logical = if physical == "BINARY" { " (STRING)" } else { "" };
        format!("{repetition} {physical} {name}{logical};")
    }
}

/// The table's rows as CSV lines (CRLF, formula-safe cells): text as it is,
/// numbers as JSON writes them (`0.5`, `1.0`), booleans `true`/`false`,
/// nulls empty. The same typed columns give the Parquet file, so the two
/// formats cannot disagree on a cell.
pub fn csv_rows(columns: &[(&str, Column)]) -> Vec<String> {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    let float = |x: f64| serde_json::Value::from(x).to_string();
    (0..rows)
        .map(|i| {
            super::csv::row(columns.iter().map(|(_, c)| match c {
                Column::Text(v) => v[i].clone(),
                Column::OptText(v) => v[i].clone().unwrap_or_default(),
                Column::Int(v) => v[i].to_string(),
                Column::OptInt(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
                Column::OptFloat(v) => v[i].map(float).unwrap_or_default(),
                Column::Bool(v) => v[i].to_string(),
            }))
        })
        .collect()
}

/// Splits optional values into the present ones and their definition levels.
fn levels<T: Clone>(values: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
    let present = values.iter().flatten().cloned().collect();
    let defined = values.iter().map(|v| i16::from(v.is_some())).collect();
    (present, defined)
}

fn text(v: &[String]) -> Vec<ByteArray> {
    v.iter().map(|s| ByteArray::from(s.as_str())).collect()
}

/// The Parquet file of a table named `name` with `columns` (in order).
pub fn write(name: &str, columns: &[(&str, Column)]) -> Result<Vec<u8>, String> {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    if let Some((bad, _)) = columns.iter().find(|(_, c)| c.len() != rows) {
        return Err(format!("column {bad} has a different length"));
    }
    let message = format!(
        "message {name} {{ {} }}",
        columns
            .iter()
            .map(|(n, c)| c.schema_line(n))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let schema: Arc<Type> = Arc::new(parquet::schema::parser::parse_message_type(&message).map_err(|e| e.to_string())?);
    let props = Arc::new(WriterProperties::builder().set_created_by("pilotledger".into()).build());
    let mut out = Vec::new();
    let err = |e: parquet::errors::ParquetError| e.to_string();
    let mut file = SerializedFileWriter::new(&mut out, schema, props).map_err(err)?;
    let mut group = file.next_row_group().map_err(err)?;
    for (_, column) in columns {
        let mut w = group
            .next_column()
            .map_err(err)?
            .ok_or("the schema has fewer columns than the table")?;
        match column {
            Column::Text(v) => w.typed::<ByteArrayType>().write_batch(&text(v), None, None),
            Column::OptText(v) => {
                let (present, defined) = levels(v);
                w.typed::<ByteArrayType>()
                    .write_batch(&text(&present), Some(&defined), None)
            }
            Column::Int(v) => w.typed::<Int64Type>().write_batch(v, None, None),
            Column::OptInt(v) => {
                let (present, defined) = levels(v);
                w.typed::<Int64Type>().write_batch(&present, Some(&defined), None)
            }
            Column::OptFloat(v) => {
                let (present, defined) = levels(v);
                w.typed::<DoubleType>().write_batch(&present, Some(&defined), None)
            }
            Column::Bool(v) => w.typed::<BoolType>().write_batch(v, None, None),
        }
        .map_err(err)?;
        w.close().map_err(err)?;
    }
    group.close().map_err(err)?;
    file.close().map_err(err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    #[test]
    fn a_table_reads_back_with_its_types_and_nulls() {
        let bytes = write(
            "cells",
            &[
                ("quarter", Column::Text(vec!["2026Q1".into(), "2026Q2".into()])),
                ("reason", Column::OptText(vec![None, Some("empty".into())])),
                ("pilots", Column::OptInt(vec![Some(12), None])),
                ("rate", Column::OptFloat(vec![Some(0.25), None])),
                ("reps", Column::Int(vec![1000, 1000])),
                ("suppressed", Column::Bool(vec![false, true])),
            ],
        )
        .unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        let rows: Vec<Vec<Field>> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap().get_column_iter().map(|(_, f)| f.clone()).collect())
            .collect();
        assert_eq!(
            rows[0],
            vec![
                Field::Str("2026Q1".into()),
                Field::Null,
                Field::Long(12),
                Field::Double(0.25),
                Field::Long(1000),
                Field::Bool(false)
            ]
        );
        assert_eq!(rows[1][1], Field::Str("empty".into()));
        assert_eq!((rows[1][2].clone(), rows[1][3].clone()), (Field::Null, Field::Null));
        assert!(write("t", &[("a", Column::Int(vec![1])), ("b", Column::Int(vec![]))]).is_err());
    }
}
