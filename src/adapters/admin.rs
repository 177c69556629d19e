//! Administrative-boundaries adapter: IGN Admin Express GeoJSON (départements, communes) and
//! INSEE COG tables → [`AdminPart`]s that the locate stage indexes. The file's `role` in the
//! catalog says which it is.

use super::{Adapter, FileInput};
use crate::error::ParseError;
use crate::geo::locate;
use crate::model::{AdminPart, ParseOutput};

pub struct AdminBoundaries;

impl Adapter for AdminBoundaries {
    fn name(&self) -> &'static str {
        "admin-boundaries"
    }

    fn version(&self) -> u32 {
        1
    }

    fn summary(&self) -> &'static str {
        "Département/commune boundaries (GeoJSON) and INSEE COG tables (CSV)"
    }

    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let file = input.file.name.as_str();
        let err = |e: locate::LocateError| ParseError::Boundaries {
            file: file.to_string(),
            message: e.to_string(),
        };
        input.text()?;
        let role = input.file.role.as_deref().unwrap_or_default();
        let part = match role {
            "departements" => {
                AdminPart::Departements(locate::parse_boundaries(file, input.bytes).map_err(err)?)
            }
            "communes" => {
                AdminPart::Communes(locate::parse_boundaries(file, input.bytes).map_err(err)?)
            }
            "cog_departements" => AdminPart::CogDepartements(
                locate::parse_cog_departements(file, input.bytes).map_err(err)?,
            ),
            "cog_regions" => {
                AdminPart::CogRegions(locate::parse_cog_regions(file, input.bytes).map_err(err)?)
            }
            other => {
                return Err(ParseError::Structure {
                    file: file.to_string(),
                    message: format!(
                        "unknown role `{other}` (departements, communes, cog_departements, cog_regions)"
                    ),
                });
            }
        };
        let units_read = match &part {
            AdminPart::Departements(v) | AdminPart::Communes(v) => v.len(),
            AdminPart::CogDepartements(v) => v.len(),
            AdminPart::CogRegions(v) => v.len(),
        };
        Ok(ParseOutput {
            units_read,
            admin: Some(part),
            ..ParseOutput::default()
        })
    }
}
