//! Command-line words in (`join-parcels --parcels F --points F --out F [--max-decompressed-bytes N]
//! [--threads N]`) → a `join_parcels` run and its summary out. Hand-parsed so that the scratch
//! binary and `dcinv join-parcels` (which may use clap) share one meaning of the options.

use std::path::PathBuf;

use super::error::CadastreError;
use super::join::{JoinOptions, JoinStats, join_parcels, write_summary};

/// Usage text of `join-parcels`.
pub const JOIN_USAGE: &str = "usage: join-parcels --parcels <file.json[.gz]> --points <file.geojson> --out <file.csv> \
[--max-decompressed-bytes <N>] [--threads <N>]";

/// Parsed `join-parcels` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinArgs {
    pub parcels: PathBuf,
    pub points: PathBuf,
    pub out: PathBuf,
    pub options: JoinOptions,
}

/// Parses the words after `join-parcels`.
pub fn parse_join_args<S: AsRef<str>>(args: &[S]) -> Result<JoinArgs, CadastreError> {
    let usage = |m: String| CadastreError::Usage(format!("{m}\n{JOIN_USAGE}"));
    let (mut parcels, mut points, mut out) = (None, None, None);
    let mut options = JoinOptions::default();
    let mut it = args.iter().map(AsRef::as_ref);
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (flag, None),
        };
        let mut value = || -> Result<String, CadastreError> {
            inline
                .map(str::to_string)
                .or_else(|| it.next().map(str::to_string))
                .ok_or_else(|| usage(format!("{name} needs a value")))
        };
        match name {
            "--parcels" => parcels = Some(PathBuf::from(value()?)),
            "--points" => points = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--max-decompressed-bytes" => {
                let v = value()?;
                options.read.max_decompressed_bytes = v
                    .parse()
                    .map_err(|_| usage(format!("--max-decompressed-bytes: not a number: {v}")))?;
            }
            "--threads" => {
                let v = value()?;
                options.read.threads = v
                    .parse()
                    .map_err(|_| usage(format!("--threads: not a number: {v}")))?;
            }
            "-h" | "--help" => return Err(CadastreError::Usage(JOIN_USAGE.to_string())),
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(JoinArgs {
        parcels: parcels.ok_or_else(|| usage("--parcels is required".into()))?,
        points: points.ok_or_else(|| usage("--points is required".into()))?,
        out: out.ok_or_else(|| usage("--out is required".into()))?,
        options,
    })
}

/// Runs `join-parcels` with the words after the subcommand; prints the summary to stderr.
pub fn run_join_parcels<S: AsRef<str>>(args: &[S]) -> Result<JoinStats, CadastreError> {
    let a = parse_join_args(args)?;
    let stats = join_parcels(&a.parcels, &a.points, &a.out, &a.options)?;
    let _ = write_summary(&mut std::io::stderr(), &stats);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        let a = parse_join_args(&[
            "--parcels",
            "p.json.gz",
            "--points=x.geojson",
            "--out",
            "o.csv",
            "--threads",
            "3",
        ])
        .unwrap();
        assert_eq!(a.parcels, PathBuf::from("p.json.gz"));
        assert_eq!(a.points, PathBuf::from("x.geojson"));
        assert_eq!(a.options.read.threads, 3);
        assert!(parse_join_args(&["--parcels", "p"]).is_err());
        assert!(parse_join_args(&["--bogus"]).is_err());
        assert!(parse_join_args(&["--out"]).is_err());
    }
}
