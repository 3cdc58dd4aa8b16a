//! What kind of route each [`Route`] is: who may use it, whether it answers with a page,
//! and what body it takes.

use super::routes::Route;

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login and setup pages, the script and stylesheet).
    Public,
    /// Viewers: a session or token, or anyone with `web.anonymous_view`.
    View,
    /// The admin: a session or token.
    Admin,
}

impl Route {
    /// Who may use this route.
    pub fn access(&self) -> Access {
        match self {
            Route::LoginForm
            | Route::Login
            | Route::SetupForm
            | Route::Setup
            | Route::Asset(_)
            | Route::Health => Access::Public,
            Route::Overview
            | Route::Day(_)
            | Route::Status
            | Route::System
            | Route::Cameras
            | Route::DayMinutes(..)
            | Route::File(..)
            | Route::Range(..)
            | Route::Spans(..)
            | Route::Changes(..)
            | Route::Tags(..)
            | Route::Archives
            | Route::ArchiveList
            | Route::ArchiveFile(_)
            | Route::Live(_)
            | Route::LiveStream(_)
            | Route::Metrics => Access::View,
            Route::ConfigForm
            | Route::ConfigSave
            | Route::Logout
            | Route::ArchiveCreate
            | Route::ArchiveDelete(_)
            | Route::TokenCreate
            | Route::TokenDelete(_)
            | Route::TagCreate
            | Route::CameraTest => Access::Admin,
        }
    }

    /// True for routes that answer with a page (a person is sent to log in rather than
    /// told 401).
    pub fn is_page(&self) -> bool {
        matches!(
            self,
            Route::Overview
                | Route::Day(_)
                | Route::Status
                | Route::ConfigForm
                | Route::LoginForm
                | Route::SetupForm
                | Route::Archives
                | Route::Live(_)
        )
    }

    /// True for routes that take a JSON body.
    pub fn takes_json(&self) -> bool {
        matches!(self, Route::TagCreate | Route::CameraTest)
    }

    /// True for routes that take a form body.
    pub fn takes_form(&self) -> bool {
        matches!(
            self,
            Route::ConfigSave
                | Route::Login
                | Route::Logout
                | Route::Setup
                | Route::ArchiveCreate
                | Route::ArchiveDelete(_)
                | Route::TokenCreate
                | Route::TokenDelete(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::routes::route;
    use hyper::Method;

    #[test]
    fn who_may_use_what() {
        let access = |m: &Method, p: &str| route(m, p, "").unwrap().access();
        assert_eq!(access(&Method::POST, "/setup"), Access::Public);
        assert_eq!(access(&Method::GET, "/config"), Access::Admin);
        assert_eq!(access(&Method::POST, "/api/1/camera-test"), Access::Admin);
        assert_eq!(access(&Method::GET, "/"), Access::View);
    }
}
