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
