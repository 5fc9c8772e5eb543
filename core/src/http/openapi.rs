//! The OpenAPI document, generated from the handlers' annotations and types.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{auth, roles, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Kith API", description = "Users, agents and organizations of a help desk. Authenticate with `Authorization: Bearer <token>`."),
    paths(
        auth::login, auth::logout, auth::me,
        users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        users::clone_user, users::list_user_changes,
        roles::list_roles, roles::create_role, roles::get_role, roles::update_role, roles::delete_role,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
