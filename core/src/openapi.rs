//! What the server's OpenAPI document needs of core (feature `openapi`): the protocol's messages
//! derive `utoipa::ToSchema` where they are defined; a type written as text on the wire (an HLC,
//! a deadline such as `2d`) gets its string schema from [`text_schema!`].

/// A string schema, with a description, a pattern and an example, for a type serialised as text.
macro_rules! text_schema {
    ($ty:ty, $description:literal, $pattern:literal, $example:literal) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .pattern(Some($pattern))
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}
    };
}

pub(crate) use text_schema;
