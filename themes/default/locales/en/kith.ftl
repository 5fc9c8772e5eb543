# Kith's messages in English. Every key here must exist in every other shipped language
# (a test checks). Keys are grouped by page.

brand = Kith
skip-to-content = Skip to content
theme-contrast = High contrast

## Log in
login-title = Log in
login-username = User name
login-password = Password
login-submit = Log in
login-forgot = Forgot your password?
login-or = or
login-with = Log in with { $provider }
login-who = Logged in as { $name } ({ $username }, { $method }).
logout = Log out
login-wrong = The user name or password is wrong.
login-too-long = That password is too long.
throttled = Too many attempts; try again in { $seconds } s.
form-invalid = { $field }: { $why }.

## Forgotten passwords
forgot-title = Forgot your password
forgot-intro = Enter the e-mail address of your account. If it logs in with a password, we send a link to choose a new one.
forgot-email = E-mail address
forgot-submit = Send the link
forgot-sent = If an account that logs in with a password uses this address, a link to reset the password is on its way.
back-to-login = Back to log in
reset-title = Choose a new password
reset-account = Account:
reset-intro = Every place you are logged in is logged out.
reset-password = New password
reset-submit = Set the password
reset-done = Your password is changed.
reset-done-login = Log in with it.
reset-dead = This link is unknown, used or expired.
reset-ask-new = Ask for a new one.

## Error pages
error-403-title = Not allowed
error-403-text = You may not open this page. If you think you should, ask your administrator.
error-404-title = Not found
error-404-text = There is nothing at this address. Check the link, or start again from the start page.
error-422-title = Not accepted
error-422-text = Some values were not accepted. Go back, correct them and send the form again.
error-500-title = Something went wrong
error-500-text = The server could not answer this request. Try again in a moment.
error-reference = If it keeps happening, tell your administrator this reference:
error-csrf = This form has expired. Reload the page and send it again.
error-home = Go to the start page

## Agent UI: the directory
directory = Directory
directory-users = Users
directory-views = Views
skip-to-list = Skip to the list
view-everyone = Everyone
search-label = Search users
search-submit = Search
result-count = { $count ->
    [one] One user
   *[other] { $count } users
}
col-display_name = Name
col-username = Username
col-email = Email
col-verified = Verified
col-last_login = Last login
col-created = Created
yes = Yes
no = No
never = Never
no-users = No user matches.
first-page = Back to the first page
load-more = Load more
preview = Preview
preview-empty = Choose a user to see them here.
disabled = Disabled
primary = primary
phones = Phones
company = Company
roles = Roles
labels = Labels
local-time = Local time
open-record = Open the full record
back-to-list = Back to the list
statistics = Statistics
tickets-open = Open tickets
tickets-resolved = Resolved tickets
chats = Live chats
calls = Calls
surveys = Surveys
