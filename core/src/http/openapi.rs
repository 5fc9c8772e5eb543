//! The OpenAPI document, generated from the handlers' annotations and types.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{
    auth, avatars, custom_fields, oauth, organizations, password, plugins, records, roles, tokens, user_tabs, users,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Kith API", description = "Users, agents and organizations of a help desk. Authenticate with `Authorization: Bearer <token>`."),
    paths(
        auth::login, auth::logout, auth::me, oauth::start, oauth::callback, password::forgot, password::reset,
        password::change_own, tokens::list_tokens, tokens::create_token, tokens::revoke_token,
        users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        users::clone_user, users::list_user_changes,
        roles::list_roles, roles::create_role, roles::get_role, roles::update_role, roles::delete_role,
        user_tabs::user_tickets, user_tabs::user_chats, user_tabs::user_calls, user_tabs::user_surveys,
        user_tabs::user_organizations, user_tabs::user_stats, user_tabs::user_history, user_tabs::merge_user,
        user_tabs::list_user_comments, user_tabs::add_user_comment, user_tabs::update_user_comment, user_tabs::delete_user_comment,
        user_tabs::my_tickets,
        organizations::list_organizations, organizations::create_organization, organizations::get_organization,
        organizations::update_organization, organizations::delete_organization,
        organizations::list_members, organizations::add_member, organizations::update_member,
        organizations::delete_member, organizations::preview_member,
        organizations::org_users, organizations::org_tickets, organizations::org_chats, organizations::org_calls,
        organizations::org_surveys, organizations::list_comments, organizations::add_comment,
        organizations::list_organization_changes,
        records::create_ticket, records::get_ticket, records::update_ticket,
        records::create_chat, records::get_chat, records::update_chat,
        records::create_call, records::get_call, records::update_call,
        records::create_survey, records::get_survey, records::update_survey,
        plugins::list_plugins, plugins::get_plugin, plugins::update_plugin, plugins::reload_plugins,
        plugins::run_action, plugins::org_plugin_tab,
        custom_fields::list_fields, custom_fields::create_field, custom_fields::get_field,
        custom_fields::update_field, custom_fields::delete_field,
        avatars::get_avatar, avatars::put_avatar, avatars::delete_avatar,
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
