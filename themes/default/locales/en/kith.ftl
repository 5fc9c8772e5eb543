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

## Agent UI: the bar, settings and shortcuts
main-menu = Main menu
save = Save
cancel = Cancel
close = Close
add = Add
edit = Edit
copy = Copy
saved = Saved
field-ui_theme = Colour scheme
scheme-system = Same as the device
scheme-light = Light
scheme-dark = Dark
field-keyboard_shortcuts = Single-key shortcuts
shortcuts-title = Keyboard shortcuts
shortcuts-off-hint = Single-key shortcuts can be switched off in your settings (under your name).
key-search = Search
key-move = Move down or up in the list
key-preview = Show the chosen user in the preview
key-open = Open the chosen user's full record
key-tabs = Previous or next tab
key-edit = Edit the first field group on the page
key-save = Save the form
key-cancel = Cancel editing
key-help = This list

## Agent UI: a user's record
agent = Agent
enable = Enable
disable = Disable
delete = Delete…
delete-confirm = { $name } and their sign-in are deleted for good. Their tickets, chats, calls and surveys stay, with their e-mail addresses.
delete-user = Delete { $name }
record-tabs = Record
tab-details = Details
tab-contact = Contact info
tab-portal = Portal settings
tab-roles = Roles
tab-custom-fields = Custom fields
tab-tickets = Tickets
tab-chats = Live chats
tab-calls = Calls
tab-surveys = Surveys
tab-organizations = Organizations
tab-stats = Statistics
tab-history = History
tab-changes = Change log
group-identity = Identity
group-labels = Labels
group-contact = Contact details
group-portal = Portal settings
group-roles = Roles
group-custom = Custom fields
group-emails = E-mail addresses
field-display_name = Display name
field-username = Username
field-time_zone = Time zone
field-language = Language
field-summary = Summary
field-auto_responder = No automatic replies
field-labels = Labels
field-company = Company
field-website = Website
field-address = Address
field-im = Instant messaging
field-twitter = Twitter
field-linkedin = LinkedIn
field-facebook = Facebook
field-avatar_provider = Avatar provider
field-subscribe_community = Subscribed to the community
field-email_summaries = E-mail summaries
field-email_conversations = E-mail conversations
field-banned = Banned from the community
field-signature_html = Signature
field-roles = Roles
hint-time_zone = An IANA name, such as Europe/Berlin or America/New_York.
hint-labels = Separate labels with commas.
show-empty = { $count ->
    [one] Show one empty field
   *[other] Show { $count } empty fields
}
no-custom-fields = No custom fields are defined for users.
form-errors = Some values were not accepted: see the messages by the fields.
conflict-text = Someone changed this user while you were editing. Their values are below; yours are in the form.
conflict-theirs = Saved meanwhile
conflict-choose = Keep your values, or take theirs and drop yours.
conflict-keep-mine = Keep mine
conflict-take-theirs = Take theirs
conflict-reloaded = Someone changed this user meanwhile; the list now shows their version. Make your change again.
verified = verified
unverified = not verified
action-primary = Make primary
action-verify = Mark verified
action-unverify = Mark not verified
action-remove = Remove
add-email = Add an e-mail address
add-phone = Add a phone number
phone-kind = Kind
phone-home = home
phone-cell = mobile
phone-work = work
phone-other = other
no-phones = No phone numbers.
ticket-state = Ticket state
row-count = { $count ->
    [one] One record
   *[other] { $count } records
}
nothing-here = Nothing here yet.
col-subject = Subject
col-status = Status
col-direction = Direction
col-phone = Phone
col-duration = Duration
col-survey = Survey
col-score = Score
col-when = When
col-organization = Organization
col-tickets = Tickets
col-matched_by = Matched by
col-method = Method
col-actor = By
col-field = Field
col-old = Before
col-new = After
no-organizations = Not a member of any organization.
call-time = Time on calls
minutes = { $count ->
    [one] one minute
   *[other] { $count } minutes
}
history-last_login = Last login
history-last_ticket = Last ticket
history-last_chat = Last chat
history-last_call = Last call
history-last_survey = Last survey
history-logins = Recent logins

## Agent UI: organizations
directory-orgs = Organizations
org-filter = Filter organizations
org-filter-submit = Filter
no-orgs-match = No organization matches.
all-orgs = All organizations
more-orgs = and more…
nav-pinned = Pinned
nav-recent = Recently viewed
kind-user = user
kind-organization = organization
pin-record = Pin
avatar = Avatar
avatar-of = { $name }'s avatar
avatar-file = Image file
hint-avatar = PNG, JPEG, GIF or WebP; shown square at 256 pixels.
avatar-upload = Upload
avatar-remove = Remove the uploaded avatar
avatar-none = No file was chosen.
org-new = New organization
search-orgs = Search organizations
org-count = { $count ->
    [one] One organization
   *[other] { $count } organizations
}
preview-empty-org = Choose an organization to see it here.
no-orgs = No organization matches.
col-name = Name
col-website = Website
back-to-orgs = Back to the organizations
delete-org-confirm = { $name } is deleted for good, with its membership rules and comments. Its users, tickets, chats, calls and surveys stay.
tab-members = Members
tab-comments = Comments
tab-users = Users
group-org = Organization
group-address = Address
group-new = The new organization
field-name = Name
field-phone = Phone
field-employees = Employees
field-address1 = Address line 1
field-address2 = Address line 2
field-city = City
field-state = State or region
field-zip = Postal code
field-country = Country
hint-employees = A range such as 26-50, or 1000+.
conflict-text-org = Someone changed this organization while you were editing. Their values are below; yours are in the form.
first-members = { $count ->
    [one] One member
   *[other] { $count } members
}
show-all-members = Show all { $count } members
rules-title = Membership rules
rules-intro = Members are everyone a rule matches, at once and always: a user who gains an address at a domain is a member, one who loses it is not.
rule-kind = Kind
rule-value = Value
rule-options = Options
actions = Actions
kind-domain = Domain
kind-email = E-mail address
kind-username = Username
kind-phone = Phone number
field-include_subdomains = Subdomains too
field-view_org_tickets = Members see the organization's tickets
hint-view_org_tickets = Not for phone rules: a phone number does not prove who someone is. E-mail and domain rules need a verified address.
no-rules = No rules yet: the organization has no members.
add-rule = Add a rule
preview-rule = Preview
rule-would-pull = This rule pulls in { $users } users, { $tickets } tickets, { $chats } chats, { $calls } calls and { $surveys } surveys.
confirm-public-domain = Yes, add { $domain } anyway: everyone with an address there becomes a member.
comment-new = New comment (only agents see comments)
comment-add = Add the comment
no-comments = No comments yet.
comment-sticky = Pin to the header
comment-pinned = Pinned
comment-pin = Pin to the header
comment-unpin = Unpin
comment-delete-confirm = Delete this comment by { $author }
pinned-comments = Pinned comments
public-domain-warning = { $domain } is a public mail provider or suffix: a rule for it would make strangers members of this organization. Tick the box below to add it anyway.
user-new = New user
group-new-user = The new user
field-email = E-mail address

## Agent UI: quick actions (merge, clone, new ticket or call log)
key-pick = Select or unselect the user in focus (bulk actions)
key-new-ticket = New ticket for this user
key-merge = Merge this user with another
key-comment = Write a comment
comment = Comment
new-ticket = New ticket
new-call = New call log
clone = Clone…
merge = Merge…
merge-title = Merge { $name } with another user
back-to-record = Back to { $name }
merge-find = Find the other user by name, e-mail address or phone
merge-candidates = Matching users
merge-keeps = Stays
merge-goes = Merged in, then deleted
merge-swap = Swap which one stays
merge-do = Merge { $name } into { $into }
merge-moves = Moving from { $name } to { $into }: { $tickets ->
    [one] 1 ticket
   *[other] { $tickets } tickets
}, { $chats ->
    [one] 1 chat
   *[other] { $chats } chats
}, { $calls ->
    [one] 1 call
   *[other] { $calls } calls
}, { $surveys ->
    [one] 1 survey
   *[other] { $surveys } surveys
} and { $organizations ->
    [one] 1 organization
   *[other] { $organizations } organizations
}, with every address and phone. { $name } is then deleted; this cannot be undone.
merged-into = User #{ $id } was merged into this user.
count-tickets = Tickets
count-chats = Live chats
count-calls = Calls
count-surveys = Surveys
count-organizations = Organizations
count-emails = E-mail addresses
count-phones = Phone numbers
group-new-ticket = The new ticket
group-new-call = The new call log
field-subject = Subject
field-status = Status
field-emails = E-mail addresses
field-direction = Direction
field-duration = Duration
hint-emails = The ticket's addresses, separated by commas.
hint-duration = Minutes and seconds, such as 4:30.
status-open = Open
status-pending = Pending
status-resolved = Resolved
status-closed = Closed
direction-inbound = Inbound
direction-outbound = Outbound
created-ticket = Ticket created.
created-call = Call log saved.

## Agent UI: bulk actions on the user list
pick-all = Select every user on this page
pick = Select { $name }
bulk-title = Bulk actions
bulk-action = Action for the selected users
bulk-value = Label or role
bulk-add_label = Add label
bulk-remove_label = Remove label
bulk-add_role = Give role
bulk-remove_role = Take role
bulk-disable = Disable
bulk-enable = Enable
bulk-delete = Delete…
bulk-matching = { $count ->
    [one] Apply to the 1 user this search finds
   *[other] Apply to all { $count } users this search finds
}
bulk-apply = Apply
bulk-selected = { $count ->
    [one] 1 selected:
   *[other] { $count } selected:
}
bulk-done = { $count ->
    [one] Done: 1 user changed.
   *[other] Done: { $count } users changed.
}
bulk-refused-title = Nothing was changed
bulk-nothing-changed = A bulk action changes every chosen user or none of them.
bulk-delete-title = { $count ->
    [one] Delete 1 user?
   *[other] Delete { $count } users?
}
bulk-delete-text = They and their sign-in are deleted for good. Their tickets, chats, calls and surveys stay, with their e-mail addresses.
bulk-and-more = and { $count } more
bulk-delete-do = { $count ->
    [one] Delete 1 user
   *[other] Delete { $count } users
}
result-count-many = More than 10,000 users
bulk-matching-many = Apply to every user this search finds
user-clone = Clone this user
group-new-clone = The copy
hint-clone-email = An address belongs to one user: the copy needs its own.
bulk-none = None selected:
view-disabled = Disabled
view-agents = Agents
directory-labels = Labels
count-capped = 10,000+
sign-in = Signing in
sign-in-method = Signs in with
field-new_password = New password
hint-new_password = At least the configured length; the user's sessions end and they sign in with it next time.
password-set-do = Set password
password-set = Password set: the user's sessions have ended.
reset-send = Send a reset link to { $email }
reset-sent = A reset link is on its way to { $email }.
resize-list = Width of the list
