//! The catalog name of the Etalab cadastre (`cadastre-etalab`): per-commune parcel files in,
//! nothing out here. Parcels are not sites: the build's cadastre stage
//! (`src/cadastre/stage.rs`) fetches the files of the communes that hold a facility after
//! reconciliation and joins them; as a record adapter this one only says so.

use super::{Adapter, FileInput};
use crate::error::ParseError;
use crate::model::ParseOutput;

pub struct CadastreParcels;

impl Adapter for CadastreParcels {
    fn name(&self) -> &'static str {
        crate::cadastre::stage::ADAPTER
    }

    fn version(&self) -> u32 {
        1
    }

    fn summary(&self) -> &'static str {
        "Etalab cadastre parcels, one file per commune ({insee}/{dep} templates); joined to facilities by the cadastre stage"
    }

    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        Err(ParseError::Structure {
            file: input.file.name.clone(),
            message: "parcel files give no records: the cadastre stage reads them per commune"
                .into(),
        })
    }
}
