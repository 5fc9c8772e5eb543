# Kiths Meldungen auf Deutsch. Jeder Schlüssel der englischen Datei muss hier stehen (ein Test
# prüft das).

brand = Kith
skip-to-content = Zum Inhalt springen
theme-contrast = Hoher Kontrast

## Anmelden
login-title = Anmelden
login-username = Benutzername
login-password = Passwort
login-submit = Anmelden
login-forgot = Passwort vergessen?
login-or = oder
login-with = Mit { $provider } anmelden
login-who = Angemeldet als { $name } ({ $username }, { $method }).
logout = Abmelden
login-wrong = Benutzername oder Passwort ist falsch.
login-too-long = Dieses Passwort ist zu lang.
throttled = Zu viele Versuche; bitte in { $seconds } s erneut versuchen.
form-invalid = { $field }: { $why }.

## Vergessene Passwörter
forgot-title = Passwort vergessen
forgot-intro = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Meldet es sich mit einem Passwort an, senden wir einen Link, mit dem Sie ein neues wählen.
forgot-email = E-Mail-Adresse
forgot-submit = Link senden
forgot-sent = Wenn ein Konto mit Passwort-Anmeldung diese Adresse verwendet, ist ein Link zum Zurücksetzen des Passworts unterwegs.
back-to-login = Zurück zur Anmeldung
reset-title = Neues Passwort wählen
reset-account = Konto:
reset-intro = Sie werden überall abgemeldet, wo Sie angemeldet sind.
reset-password = Neues Passwort
reset-submit = Passwort festlegen
reset-done = Ihr Passwort ist geändert.
reset-done-login = Melden Sie sich damit an.
reset-dead = Dieser Link ist unbekannt, schon benutzt oder abgelaufen.
reset-ask-new = Einen neuen anfordern.

## Fehlerseiten
error-403-title = Nicht erlaubt
error-403-text = Sie dürfen diese Seite nicht öffnen. Wenn Sie meinen, Sie sollten es dürfen, fragen Sie Ihre Administration.
error-404-title = Nicht gefunden
error-404-text = Unter dieser Adresse gibt es nichts. Prüfen Sie den Link oder beginnen Sie auf der Startseite.
error-422-title = Nicht angenommen
error-422-text = Einige Werte wurden nicht angenommen. Gehen Sie zurück, korrigieren Sie sie und senden Sie das Formular erneut.
error-500-title = Etwas ist schiefgegangen
error-500-text = Der Server konnte diese Anfrage nicht beantworten. Versuchen Sie es gleich noch einmal.
error-reference = Wenn es wieder passiert, nennen Sie Ihrer Administration diese Referenz:
error-csrf = Dieses Formular ist abgelaufen. Laden Sie die Seite neu und senden Sie es erneut.
error-home = Zur Startseite

## Agentenoberfläche: das Verzeichnis
directory = Verzeichnis
directory-users = Benutzer
directory-views = Ansichten
skip-to-list = Zur Liste springen
view-everyone = Alle
search-label = Benutzer suchen
search-submit = Suchen
result-count = { $count ->
    [one] Ein Benutzer
   *[other] { $count } Benutzer
}
col-display_name = Name
col-username = Benutzername
col-email = E-Mail
col-verified = Bestätigt
col-last_login = Letzte Anmeldung
col-created = Angelegt
yes = Ja
no = Nein
never = Nie
no-users = Kein Benutzer passt.
first-page = Zurück zur ersten Seite
load-more = Mehr laden
preview = Vorschau
preview-empty = Wählen Sie einen Benutzer, um ihn hier zu sehen.
disabled = Gesperrt
primary = primär
phones = Telefonnummern
company = Firma
roles = Rollen
labels = Schlagwörter
local-time = Ortszeit
open-record = Ganzen Datensatz öffnen
back-to-list = Zurück zur Liste
statistics = Statistik
tickets-open = Offene Tickets
tickets-resolved = Gelöste Tickets
chats = Live-Chats
calls = Anrufe
surveys = Umfragen

## Agent UI: the bar, settings and shortcuts
main-menu = Hauptmenü
save = Speichern
cancel = Abbrechen
close = Schließen
add = Hinzufügen
edit = Bearbeiten
copy = Kopieren
saved = Gespeichert
field-ui_theme = Farbschema
scheme-system = Wie das Gerät
scheme-light = Hell
scheme-dark = Dunkel
field-keyboard_shortcuts = Tastenkürzel mit einer Taste
shortcuts-title = Tastenkürzel
shortcuts-off-hint = Tastenkürzel mit einer Taste lassen sich in Ihren Einstellungen (unter Ihrem Namen) abschalten.
key-search = Suchen
key-move = In der Liste nach unten oder oben
key-preview = Den gewählten Benutzer in der Vorschau zeigen
key-open = Den ganzen Datensatz des gewählten Benutzers öffnen
key-tabs = Vorheriger oder nächster Reiter
key-edit = Die erste Feldgruppe der Seite bearbeiten
key-save = Das Formular speichern
key-cancel = Bearbeiten abbrechen
key-help = Diese Liste

## Agent UI: a user's record
agent = Agent
enable = Aktivieren
disable = Deaktivieren
delete = Löschen…
delete-confirm = { $name } und die Anmeldung werden endgültig gelöscht. Tickets, Chats, Anrufe und Umfragen bleiben mit ihren E-Mail-Adressen erhalten.
delete-user = { $name } löschen
record-tabs = Datensatz
tab-details = Details
tab-contact = Kontakt
tab-portal = Portal-Einstellungen
tab-roles = Rollen
tab-custom-fields = Eigene Felder
tab-tickets = Tickets
tab-chats = Live-Chats
tab-calls = Anrufe
tab-surveys = Umfragen
tab-organizations = Organisationen
tab-stats = Statistik
tab-history = Verlauf
tab-changes = Änderungsprotokoll
group-identity = Identität
group-labels = Labels
group-contact = Kontaktdaten
group-portal = Portal-Einstellungen
group-roles = Rollen
group-custom = Eigene Felder
group-emails = E-Mail-Adressen
field-display_name = Anzeigename
field-username = Benutzername
field-time_zone = Zeitzone
field-language = Sprache
field-summary = Zusammenfassung
field-auto_responder = Keine automatischen Antworten
field-labels = Labels
field-company = Firma
field-website = Website
field-address = Adresse
field-im = Instant Messaging
field-twitter = Twitter
field-linkedin = LinkedIn
field-facebook = Facebook
field-avatar_provider = Avatar-Anbieter
field-subscribe_community = Community abonniert
field-email_summaries = E-Mail-Zusammenfassungen
field-email_conversations = E-Mail-Unterhaltungen
field-banned = Aus der Community ausgeschlossen
field-signature_html = Signatur
field-roles = Rollen
hint-time_zone = Ein IANA-Name wie Europe/Berlin oder America/New_York.
hint-labels = Labels durch Kommas trennen.
show-empty = { $count ->
    [one] Ein leeres Feld zeigen
   *[other] { $count } leere Felder zeigen
}
no-custom-fields = Für Benutzer sind keine eigenen Felder angelegt.
form-errors = Einige Werte wurden nicht angenommen: siehe die Hinweise bei den Feldern.
conflict-text = Jemand hat diesen Benutzer geändert, während Sie bearbeitet haben. Die neuen Werte stehen unten, Ihre im Formular.
conflict-theirs = Inzwischen gespeichert
conflict-choose = Behalten Sie Ihre Werte oder übernehmen Sie die anderen und verwerfen Ihre.
conflict-keep-mine = Meine behalten
conflict-take-theirs = Ihre übernehmen
conflict-reloaded = Jemand hat diesen Benutzer inzwischen geändert; die Liste zeigt jetzt diese Fassung. Nehmen Sie Ihre Änderung erneut vor.
verified = bestätigt
unverified = nicht bestätigt
action-primary = Zur Hauptadresse machen
action-verify = Als bestätigt markieren
action-unverify = Als nicht bestätigt markieren
action-remove = Entfernen
add-email = E-Mail-Adresse hinzufügen
add-phone = Telefonnummer hinzufügen
phone-kind = Art
phone-home = privat
phone-cell = mobil
phone-work = geschäftlich
phone-other = andere
no-phones = Keine Telefonnummern.
ticket-state = Ticketstatus
row-count = { $count ->
    [one] Ein Eintrag
   *[other] { $count } Einträge
}
nothing-here = Noch nichts vorhanden.
col-subject = Betreff
col-status = Status
col-direction = Richtung
col-phone = Telefon
col-duration = Dauer
col-survey = Umfrage
col-score = Bewertung
col-when = Wann
col-organization = Organisation
col-tickets = Tickets
col-matched_by = Zugeordnet durch
col-method = Methode
col-actor = Von
col-field = Feld
col-old = Vorher
col-new = Nachher
no-organizations = Gehört keiner Organisation an.
call-time = Zeit in Anrufen
minutes = { $count ->
    [one] eine Minute
   *[other] { $count } Minuten
}
history-last_login = Letzte Anmeldung
history-last_ticket = Letztes Ticket
history-last_chat = Letzter Chat
history-last_call = Letzter Anruf
history-last_survey = Letzte Umfrage
history-logins = Letzte Anmeldungen

## Agent UI: organizations
directory-orgs = Organisationen
org-filter = Organisationen filtern
org-filter-submit = Filtern
no-orgs-match = Keine Organisation passt.
all-orgs = Alle Organisationen
more-orgs = und weitere…
nav-pinned = Angeheftet
nav-recent = Zuletzt angesehen
kind-user = Benutzer
kind-organization = Organisation
pin-record = Anheften
avatar = Avatar
avatar-of = Avatar von { $name }
avatar-file = Bilddatei
hint-avatar = PNG, JPEG, GIF oder WebP; quadratisch mit 256 Pixeln gezeigt.
avatar-upload = Hochladen
avatar-remove = Hochgeladenen Avatar entfernen
avatar-none = Es wurde keine Datei gewählt.
org-new = Neue Organisation
search-orgs = Organisationen suchen
org-count = { $count ->
    [one] Eine Organisation
   *[other] { $count } Organisationen
}
preview-empty-org = Wählen Sie eine Organisation, um sie hier zu sehen.
no-orgs = Keine Organisation passt.
col-name = Name
col-website = Website
back-to-orgs = Zurück zu den Organisationen
delete-org-confirm = { $name } wird endgültig gelöscht, mit Mitgliedschaftsregeln und Kommentaren. Benutzer, Tickets, Chats, Anrufe und Umfragen bleiben.
tab-members = Mitglieder
tab-comments = Kommentare
tab-users = Benutzer
group-org = Organisation
group-address = Adresse
group-new = Die neue Organisation
field-name = Name
field-phone = Telefon
field-employees = Mitarbeiter
field-address1 = Adresszeile 1
field-address2 = Adresszeile 2
field-city = Ort
field-state = Bundesland oder Region
field-zip = Postleitzahl
field-country = Land
hint-employees = Ein Bereich wie 26-50 oder 1000+.
conflict-text-org = Jemand hat diese Organisation geändert, während Sie bearbeitet haben. Die neuen Werte stehen unten, Ihre im Formular.
first-members = { $count ->
    [one] Ein Mitglied
   *[other] { $count } Mitglieder
}
show-all-members = Alle { $count } Mitglieder zeigen
rules-title = Mitgliedschaftsregeln
rules-intro = Mitglied ist, wen eine Regel trifft, sofort und immer: Wer eine Adresse bei einer Domain bekommt, ist Mitglied, wer sie verliert, nicht mehr.
rule-kind = Art
rule-value = Wert
rule-options = Optionen
actions = Aktionen
kind-domain = Domain
kind-email = E-Mail-Adresse
kind-username = Benutzername
kind-phone = Telefonnummer
field-include_subdomains = Auch Subdomains
field-view_org_tickets = Mitglieder sehen die Tickets der Organisation
hint-view_org_tickets = Nicht für Telefonregeln: Eine Telefonnummer beweist nicht, wer jemand ist. E-Mail- und Domainregeln brauchen eine bestätigte Adresse.
no-rules = Noch keine Regeln: Die Organisation hat keine Mitglieder.
add-rule = Regel hinzufügen
preview-rule = Vorschau
rule-would-pull = Diese Regel erfasst { $users } Benutzer, { $tickets } Tickets, { $chats } Chats, { $calls } Anrufe und { $surveys } Umfragen.
confirm-public-domain = Ja, { $domain } trotzdem hinzufügen: Jeder mit einer Adresse dort wird Mitglied.
comment-new = Neuer Kommentar (nur Agenten sehen Kommentare)
comment-add = Kommentar hinzufügen
no-comments = Noch keine Kommentare.
comment-sticky = Im Kopf anheften
comment-pinned = Angeheftet
comment-pin = Im Kopf anheften
comment-unpin = Lösen
comment-delete-confirm = Diesen Kommentar von { $author } löschen
pinned-comments = Angeheftete Kommentare
public-domain-warning = { $domain } ist ein öffentlicher E-Mail-Anbieter oder eine öffentliche Endung: Eine Regel dafür machte Fremde zu Mitgliedern dieser Organisation. Setzen Sie unten das Häkchen, um sie trotzdem hinzuzufügen.
user-new = Neuer Benutzer
group-new-user = Der neue Benutzer
field-email = E-Mail-Adresse

## Agent UI: quick actions (merge, clone, new ticket or call log)
key-pick = Den Benutzer im Fokus aus- oder abwählen (Sammelaktionen)
key-new-ticket = Neues Ticket für diesen Benutzer
key-merge = Diesen Benutzer mit einem anderen zusammenführen
key-comment = Einen Kommentar schreiben
comment = Kommentieren
new-ticket = Neues Ticket
new-call = Neues Anrufprotokoll
clone = Duplizieren…
merge = Zusammenführen…
merge-title = { $name } mit einem anderen Benutzer zusammenführen
back-to-record = Zurück zu { $name }
merge-find = Den anderen Benutzer nach Name, E-Mail-Adresse oder Telefon suchen
merge-candidates = Passende Benutzer
merge-keeps = Bleibt
merge-goes = Wird übernommen, dann gelöscht
merge-swap = Tauschen, wer bleibt
merge-do = { $name } in { $into } zusammenführen
merge-moves = Von { $name } zu { $into } wechseln: { $tickets ->
    [one] 1 Ticket
   *[other] { $tickets } Tickets
}, { $chats ->
    [one] 1 Chat
   *[other] { $chats } Chats
}, { $calls ->
    [one] 1 Anruf
   *[other] { $calls } Anrufe
}, { $surveys ->
    [one] 1 Umfrage
   *[other] { $surveys } Umfragen
} und { $organizations ->
    [one] 1 Organisation
   *[other] { $organizations } Organisationen
}, mit allen Adressen und Telefonnummern. { $name } wird danach gelöscht; das lässt sich nicht rückgängig machen.
merged-into = Benutzer #{ $id } wurde in diesen Benutzer zusammengeführt.
count-tickets = Tickets
count-chats = Live-Chats
count-calls = Anrufe
count-surveys = Umfragen
count-organizations = Organisationen
count-emails = E-Mail-Adressen
count-phones = Telefonnummern
group-new-ticket = Das neue Ticket
group-new-call = Das neue Anrufprotokoll
field-subject = Betreff
field-status = Status
field-emails = E-Mail-Adressen
field-direction = Richtung
field-duration = Dauer
hint-emails = Die Adressen des Tickets, durch Kommas getrennt.
hint-duration = Minuten und Sekunden, etwa 4:30.
status-open = Offen
status-pending = Wartend
status-resolved = Gelöst
status-closed = Geschlossen
direction-inbound = Eingehend
direction-outbound = Ausgehend
created-ticket = Ticket angelegt.
created-call = Anrufprotokoll gespeichert.

## Agent UI: bulk actions on the user list
pick-all = Alle Benutzer dieser Seite auswählen
pick = { $name } auswählen
bulk-title = Sammelaktionen
bulk-action = Aktion für die gewählten Benutzer
bulk-value = Label oder Rolle
bulk-add_label = Label hinzufügen
bulk-remove_label = Label entfernen
bulk-add_role = Rolle geben
bulk-remove_role = Rolle nehmen
bulk-disable = Sperren
bulk-enable = Entsperren
bulk-delete = Löschen…
bulk-matching = { $count ->
    [one] Auf den 1 Benutzer dieser Suche anwenden
   *[other] Auf alle { $count } Benutzer dieser Suche anwenden
}
bulk-apply = Anwenden
bulk-selected = { $count ->
    [one] 1 gewählt:
   *[other] { $count } gewählt:
}
bulk-done = { $count ->
    [one] Erledigt: 1 Benutzer geändert.
   *[other] Erledigt: { $count } Benutzer geändert.
}
bulk-refused-title = Nichts wurde geändert
bulk-nothing-changed = Eine Sammelaktion ändert alle gewählten Benutzer oder keinen.
bulk-delete-title = { $count ->
    [one] 1 Benutzer löschen?
   *[other] { $count } Benutzer löschen?
}
bulk-delete-text = Sie und ihre Anmeldung werden endgültig gelöscht. Ihre Tickets, Chats, Anrufe und Umfragen bleiben, mit ihren E-Mail-Adressen.
bulk-and-more = und { $count } weitere
bulk-delete-do = { $count ->
    [one] 1 Benutzer löschen
   *[other] { $count } Benutzer löschen
}
result-count-many = Mehr als 10.000 Benutzer
bulk-matching-many = Auf alle Benutzer dieser Suche anwenden
user-clone = Diesen Benutzer duplizieren
group-new-clone = Die Kopie
hint-clone-email = Eine Adresse gehört einem Benutzer: Die Kopie braucht eine eigene.
bulk-none = Keiner gewählt:
view-disabled = Gesperrt
view-agents = Agenten
directory-labels = Labels
count-capped = 10.000+
sign-in = Anmeldung
sign-in-method = Meldet sich an mit
field-new_password = Neues Passwort
hint-new_password = Mindestens die eingestellte Länge; die Sitzungen des Benutzers enden und beim nächsten Mal meldet er sich damit an.
password-set-do = Passwort setzen
password-set = Passwort gesetzt: Die Sitzungen des Benutzers sind beendet.
reset-send = Einen Link zum Zurücksetzen an { $email } senden
reset-sent = Ein Link zum Zurücksetzen ist unterwegs an { $email }.
resize-list = Breite der Liste
