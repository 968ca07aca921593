//! Reading numeric tables (CSV, Parquet) with polars, with errors that name file, line and column.

use crate::DataError;
use polars::prelude::*;
use seqlab_config::{FileFormat, MissingPolicy};
use std::path::{Path, PathBuf};

/// A numeric table: selected columns as `f64`, row-major, with the time column as text.
#[derive(Debug, Clone)]
pub struct NumericTable {
    /// The file it came from.
    pub path: PathBuf,
    /// Column names, in the order asked for.
    pub columns: Vec<String>,
    /// Time stamps (or row numbers when there is no time column).
    pub timestamps: Vec<String>,
    /// Row-major values `[rows, columns]`.
    pub values: Vec<f64>,
    /// 1-based source line of each row (for error messages after rows are dropped).
    pub lines: Vec<usize>,
}

impl NumericTable {
    /// A table built in memory (row-major `values`), for library users and tests; `label`
    /// stands in for the file name in error messages, and rows are numbered like CSV lines.
    ///
    /// # Panics
    /// When `values.len()` is not `timestamps.len() * columns.len()`.
    pub fn from_rows(label: &str, columns: Vec<String>, timestamps: Vec<String>, values: Vec<f64>) -> Self {
        let rows = timestamps.len();
        assert_eq!(values.len(), rows * columns.len(), "from_rows: values must be rows x columns");
        Self { path: PathBuf::from(label), columns, timestamps, values, lines: (0..rows).map(|i| i + 2).collect() }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.timestamps.len()
    }

    /// Value at `(row, col)`.
    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.values[row * self.columns.len() + col]
    }
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Read { path: path.to_path_buf(), message: e.to_string() }
}

fn read_frame(path: &Path, format: FileFormat, max_rows: Option<usize>) -> Result<DataFrame, DataError> {
    let format = match format {
        FileFormat::Auto => match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase) {
            Some(ext) if ext == "parquet" || ext == "pq" => FileFormat::Parquet,
            _ => FileFormat::Csv,
        },
        f => f,
    };
    match format {
        FileFormat::Parquet => {
            let file = std::fs::File::open(path).map_err(|e| read_err(path, e))?;
            let df = ParquetReader::new(file).finish().map_err(|e| read_err(path, e))?;
            Ok(match max_rows {
                Some(n) => df.head(Some(n)),
                None => df,
            })
        }
        _ => CsvReadOptions::default()
            .with_has_header(true)
            .with_n_rows(max_rows)
            .with_infer_schema_length(Some(10_000))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(|e| read_err(path, e)),
    }
}

/// Values of one column as `Option<f64>` (None = missing), checking that text parses as numbers.
fn numeric_column(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Option<f64>>, DataError> {
    let col = df.column(name).map_err(|_| DataError::MissingColumn {
        path: path.to_path_buf(),
        column: name.to_string(),
        available: df.get_column_names().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
    })?;
    if col.dtype() == &DataType::String {
        let ca = col.str().map_err(|e| read_err(path, e))?;
        ca.iter()
            .enumerate()
            .map(|(i, v)| match v.map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) if s.eq_ignore_ascii_case("nan") || s.eq_ignore_ascii_case("na") => Ok(None),
                Some(s) => s.parse::<f64>().map(Some).map_err(|_| DataError::NotNumeric {
                    path: path.to_path_buf(),
                    line: i + 2,
                    column: name.to_string(),
                    value: s.to_string(),
                }),
            })
            .collect()
    } else if col.dtype().is_primitive_numeric() || col.dtype() == &DataType::Boolean {
        let cast = col.cast(&DataType::Float64).map_err(|e| read_err(path, e))?;
        let ca = cast.f64().map_err(|e| read_err(path, e))?;
        Ok(ca.iter().map(|v| v.filter(|x| !x.is_nan())).collect())
    } else {
        Err(DataError::NotNumeric {
            path: path.to_path_buf(),
            line: 2,
            column: name.to_string(),
            value: format!("a column of type {}", col.dtype()),
        })
    }
}

/// Read `columns` (and the optional time column) from a file, applying the missing-value policy.
pub fn read_numeric(
    path: &Path,
    format: FileFormat,
    time_column: Option<&str>,
    columns: &[String],
    missing: MissingPolicy,
    max_rows: Option<usize>,
) -> Result<NumericTable, DataError> {
    let df = read_frame(path, format, max_rows)?;
    let n = df.height();
    let timestamps: Vec<String> = match time_column {
        Some(tc) => {
            let col = df.column(tc).map_err(|_| DataError::MissingColumn {
                path: path.to_path_buf(),
                column: tc.to_string(),
                available: df.get_column_names().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            })?;
            let s = col.cast(&DataType::String).map_err(|e| read_err(path, e))?;
            let ca = s.str().map_err(|e| read_err(path, e))?;
            ca.iter().map(|v| v.unwrap_or("").to_string()).collect()
        }
        None => (0..n).map(|i| i.to_string()).collect(),
    };
    let cols: Vec<Vec<Option<f64>>> = columns.iter().map(|c| numeric_column(&df, path, c)).collect::<Result<_, _>>()?;

    let mut values = Vec::with_capacity(n * columns.len());
    let mut kept_ts = Vec::with_capacity(n);
    let mut lines = Vec::with_capacity(n);
    let mut last: Vec<Option<f64>> = vec![None; columns.len()];
    'rows: for r in 0..n {
        let mut row = Vec::with_capacity(columns.len());
        for (c, col) in cols.iter().enumerate() {
            match col[r] {
                Some(v) if v.is_finite() => {
                    last[c] = Some(v);
                    row.push(v);
                }
                _ => match missing {
                    MissingPolicy::Error => {
                        return Err(DataError::MissingValue {
                            path: path.to_path_buf(),
                            line: r + 2,
                            column: columns[c].clone(),
                        });
                    }
                    MissingPolicy::Drop => continue 'rows,
                    MissingPolicy::Ffill => match last[c] {
                        Some(v) => row.push(v),
                        None => {
                            return Err(DataError::BadValue {
                                path: path.to_path_buf(),
                                line: r + 2,
                                column: columns[c].clone(),
                                message: "missing value with nothing before it to forward-fill".into(),
                            });
                        }
                    },
                },
            }
        }
        values.extend(row);
        kept_ts.push(timestamps[r].clone());
        lines.push(r + 2);
    }
    Ok(NumericTable { path: path.to_path_buf(), columns: columns.to_vec(), timestamps: kept_ts, values, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("seqlab-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_selected_columns_with_time() {
        let p = tmp("ok.csv", "date,a,b,c\n2020-01-01,1,2,x\n2020-01-02,3,4.5,y\n");
        let t = read_numeric(&p, FileFormat::Auto, Some("date"), &cols(&["b", "a"]), MissingPolicy::Error, None)
            .expect("read");
        assert_eq!(t.timestamps, vec!["2020-01-01", "2020-01-02"]);
        assert_eq!(t.values, vec![2.0, 1.0, 4.5, 3.0]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let p = tmp("bad.csv", "date,a\n2020-01-01,1\n2020-01-02,oops\n2020-01-03,2\n");
        let err = read_numeric(&p, FileFormat::Csv, Some("date"), &cols(&["a"]), MissingPolicy::Error, None)
            .expect_err("non-numeric")
            .to_string();
        assert!(err.contains("bad.csv") && err.contains("line 3") && err.contains("oops"), "{err}");

        let err = read_numeric(&p, FileFormat::Csv, Some("date"), &cols(&["zzz"]), MissingPolicy::Error, None)
            .expect_err("missing column")
            .to_string();
        assert!(err.contains("`zzz`") && err.contains("available: date, a"), "{err}");
    }

    #[test]
    fn reads_parquet_and_names_a_corrupt_file() {
        let mut df = df!(
            "t" => ["a", "b", "c"],
            "x" => [1.5f64, 2.5, 3.5],
            "n" => [1i64, 2, 3]
        )
        .expect("frame");
        let p = tmp("t.parquet", "");
        let f = std::fs::File::create(&p).expect("create");
        ParquetWriter::new(f).finish(&mut df).expect("write parquet");
        let t = read_numeric(&p, FileFormat::Auto, Some("t"), &cols(&["n", "x"]), MissingPolicy::Error, Some(2))
            .expect("read parquet");
        assert_eq!(t.values, vec![1.0, 1.5, 2.0, 2.5]);
        assert_eq!(t.timestamps, vec!["a", "b"]);

        let bad = tmp("bad.parquet", "PAR1 this is not parquet");
        let err = read_numeric(&bad, FileFormat::Auto, None, &cols(&["x"]), MissingPolicy::Error, None)
            .expect_err("corrupt")
            .to_string();
        assert!(err.contains("bad.parquet"), "{err}");
    }

    #[test]
    fn missing_value_policies() {
        let p = tmp("gaps.csv", "t,a,b\n0,1,10\n1,,11\n2,3,NaN\n3,4,13\n");
        let c = cols(&["a", "b"]);
        let err =
            read_numeric(&p, FileFormat::Csv, Some("t"), &c, MissingPolicy::Error, None).expect_err("gap").to_string();
        assert!(err.contains("line 3") && err.contains("`a`") && err.contains("missing value"), "{err}");
        let f = read_numeric(&p, FileFormat::Csv, Some("t"), &c, MissingPolicy::Ffill, None).expect("ffill");
        assert_eq!(f.values, vec![1.0, 10.0, 1.0, 11.0, 3.0, 11.0, 4.0, 13.0]);
        let d = read_numeric(&p, FileFormat::Csv, Some("t"), &c, MissingPolicy::Drop, None).expect("drop");
        assert_eq!(d.values, vec![1.0, 10.0, 4.0, 13.0]);
        assert_eq!(d.lines, vec![2, 5]);
        assert_eq!(d.timestamps, vec!["0", "3"]);
    }
}
