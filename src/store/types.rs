//! The typed values kept in text columns: statuses, severities and kinds
//! are enums in Rust and their lowercase names in PostgreSQL, so a row
//! with a value the code does not know fails to decode, naming it, instead
//! of flowing on as a string nobody matches.

use crate::drift::DriftKind;
use crate::evaluate::lifecycle::{NewStatus, TransitionKind};
use crate::evaluate::{FindingStatus, Severity};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use super::ScanStatus;
use super::alerts::{IncidentAction, OutboxState};

macro_rules! text_enum {
    ($($ty:ty),* $(,)?) => {$(
        impl Type<Postgres> for $ty {
            fn type_info() -> PgTypeInfo {
                <str as Type<Postgres>>::type_info()
            }
            fn compatible(ty: &PgTypeInfo) -> bool {
                <str as Type<Postgres>>::compatible(ty)
            }
        }

        impl PgHasArrayType for $ty {
            fn array_type_info() -> PgTypeInfo {
                <&str as PgHasArrayType>::array_type_info()
            }
        }

        impl Encode<'_, Postgres> for $ty {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $ty {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<Postgres>>::decode(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    )*};
}

text_enum!(
    FindingStatus,
    Severity,
    TransitionKind,
    NewStatus,
    DriftKind,
    ScanStatus,
    IncidentAction,
    OutboxState,
);
