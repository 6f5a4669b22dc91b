<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de" sourcelanguage="en">
<context>
    <name>AlarmPanel</name>
    <message>
        <source>Acknowledge</source>
        <translation>Quittieren</translation>
    </message>
    <message>
        <source>Acknowledge this alarm (recorded with your name and the time)</source>
        <translation>Diesen Alarm quittieren (mit Ihrem Namen und der Uhrzeit gespeichert)</translation>
    </message>
</context>
<context>
    <name>AlarmSettingsTab</name>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>Alarm when a line link goes down</source>
        <translation>Alarm, wenn eine Linienanbindung ausfällt</translation>
    </message>
    <message>
        <source>Times of day each shift begins, e.g. 06:00, 14:00, 22:00</source>
        <translation>Uhrzeiten, zu denen jede Schicht beginnt, z. B. 06:00, 14:00, 22:00</translation>
    </message>
    <message>
        <source>NG parts in a row</source>
        <translation>NIO-Teile in Folge</translation>
    </message>
    <message>
        <source>NG rate above</source>
        <translation>NIO-Quote über</translation>
    </message>
    <message>
        <source>… over the last parts</source>
        <translation>… über die letzten Teile</translation>
    </message>
    <message>
        <source>Uninspected live frames per run</source>
        <translation>Ungeprüfte Live-Bilder je Lauf</translation>
    </message>
    <message>
        <source>Shift start times</source>
        <translation>Schichtbeginn</translation>
    </message>
    <message>
        <source>An alarm shows on the operator screen until acknowledged; each one and its acknowledgement are recorded in the results store. 0 switches a rule off.</source>
        <translation>Ein Alarm bleibt auf dem Bedienerbildschirm, bis er quittiert ist; jeder Alarm und seine Quittung werden im Ergebnisspeicher festgehalten. 0 schaltet eine Regel ab.</translation>
    </message>
    <message>
        <source>Shift start times: {error}</source>
        <translation>Schichtbeginn: {error}</translation>
    </message>
</context>
<context>
    <name>AuditView</name>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>What</source>
        <translation>Was</translation>
    </message>
    <message>
        <source>Old value</source>
        <translation>Alter Wert</translation>
    </message>
    <message>
        <source>New value</source>
        <translation>Neuer Wert</translation>
    </message>
    <message>
        <source>Audit trail</source>
        <translation>Änderungsprotokoll</translation>
    </message>
    <message>
        <source>all changes</source>
        <translation>alle Änderungen</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>CSV exportieren…</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Zeigen</translation>
    </message>
    <message>
        <source>{count} change(s) shown</source>
        <translation>{count} Änderung(en) gezeigt</translation>
    </message>
    <message>
        <source>Export the audit trail as CSV</source>
        <translation>Änderungsprotokoll als CSV exportieren</translation>
    </message>
    <message>
        <source>Export to {path} failed: {error}</source>
        <translation>Export nach {path} fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Audit trail exported to {path}</source>
        <translation>Änderungsprotokoll nach {path} exportiert</translation>
    </message>
</context>
<context>
    <name>BatchPanel</name>
    <message>
        <source>No folder run</source>
        <translation>Kein Ordnerlauf</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pause</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>CSV exportieren…</translation>
    </message>
    <message>
        <source>Export JSON…</source>
        <translation>JSON exportieren…</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Fortsetzen</translation>
    </message>
    <message>
        <source>Watching {name} for new images</source>
        <translation>Beobachte {name} auf neue Bilder</translation>
    </message>
    <message>
        <source>Folder run: {name}</source>
        <translation>Ordnerlauf: {name}</translation>
    </message>
    <message>
        <source> ({skipped} inspected before, passed over)</source>
        <translation> ({skipped} schon geprüft, übergangen)</translation>
    </message>
    <message>
        <source>{title}: {done} inspected</source>
        <translation>{title}: {done} geprüft</translation>
    </message>
</context>
<context>
    <name>CameraDialog</name>
    <message>
        <source>Camera</source>
        <translation>Kamera</translation>
    </message>
    <message>
        <source>the .cti of the camera&apos;s SDK (empty: those on {variable})</source>
        <translation>die .cti des Kamera-SDK (leer: die aus {variable})</translation>
    </message>
    <message>
        <source>Search again</source>
        <translation>Erneut suchen</translation>
    </message>
    <message>
        <source>GenTL producer:</source>
        <translation>GenTL-Producer:</translation>
    </message>
    <message>
        <source>Industrial cameras found (pylon, GenICam):</source>
        <translation>Gefundene Industriekameras (pylon, GenICam):</translation>
    </message>
    <message>
        <source>Camera: pylon:SERIAL, genicam:SERIAL@producer.cti, index (0, 1, …) or URL:</source>
        <translation>Kamera: pylon:SERIE, genicam:SERIE@producer.cti, Index (0, 1, …) oder URL:</translation>
    </message>
    <message>
        <source>Searching for cameras…</source>
        <translation>Suche Kameras…</translation>
    </message>
    <message>
        <source>serial {serial}</source>
        <translation>Seriennummer {serial}</translation>
    </message>
    <message>
        <source>{count} camera(s) found.</source>
        <translation>{count} Kamera(s) gefunden.</translation>
    </message>
    <message>
        <source>No industrial camera found.</source>
        <translation>Keine Industriekamera gefunden.</translation>
    </message>
</context>
<context>
    <name>ComparisonDialog</name>
    <message>
        <source>New model bundle in service: {bundle}</source>
        <translation>Neues Modellpaket im Einsatz: {bundle}</translation>
    </message>
    <message>
        <source>Keep</source>
        <translation>Behalten</translation>
    </message>
    <message>
        <source>Roll back to {bundle}</source>
        <translation>Zurück zu {bundle}</translation>
    </message>
    <message>
        <source>Roll back</source>
        <translation>Zurücksetzen</translation>
    </message>
    <message>
        <source>This recipe has no previous bundle</source>
        <translation>Dieses Rezept hat kein früheres Modellpaket</translation>
    </message>
</context>
<context>
    <name>CounterPanel</name>
    <message>
        <source>TOTAL</source>
        <translation>GESAMT</translation>
    </message>
    <message>
        <source>YIELD</source>
        <translation>AUSBEUTE</translation>
    </message>
    <message>
        <source>Reset counters</source>
        <translation>Zähler zurücksetzen</translation>
    </message>
    <message>
        <source>Set total, OK and NG back to zero (asks first)</source>
        <translation>Gesamt, IO und NIO auf null setzen (mit Rückfrage)</translation>
    </message>
    <message>
        <source>{count} error(s) logged</source>
        <translation>{count} Fehler protokolliert</translation>
    </message>
    <message>
        <source>{period}: {parts} parts, {ng} NG, {rate}</source>
        <translation>{period}: {parts} Teile, {ng} NIO, {rate}</translation>
    </message>
    <message>
        <source>Set the counters ({parts} parts) back to zero?
The inspection records stay in the results store.</source>
        <translation>Die Zähler ({parts} Teile) auf null setzen?
Die Prüfdatensätze bleiben im Ergebnisspeicher.</translation>
    </message>
</context>
<context>
    <name>ErrorPanel</name>
    <message>
        <source>Dismiss this message</source>
        <translation>Diese Meldung schließen</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Schließen</translation>
    </message>
</context>
<context>
    <name>FirstStartDialog</name>
    <message>
        <source>First start: the administrator</source>
        <translation>Erster Start: der Administrator</translation>
    </message>
    <message>
        <source>This station has no administrator yet. The administrator manages the users (operators, engineers). Choose the account now; a forgotten password can be reset only from a shell on this machine (station users reset-password NAME).</source>
        <translation>Diese Station hat noch keinen Administrator. Der Administrator verwaltet die Benutzer (Bediener, Techniker). Legen Sie das Konto jetzt an; ein vergessenes Passwort lässt sich nur in einer Shell auf diesem Rechner zurücksetzen (station users reset-password NAME).</translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation>Administrator</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>Repeat</source>
        <translation>Wiederholen</translation>
    </message>
</context>
<context>
    <name>HistoryPanel</name>
    <message>
        <source>no image
archived</source>
        <translation>kein Bild
archiviert</translation>
    </message>
    <message>
        <source>Recent</source>
        <translation>Zuletzt</translation>
    </message>
    <message>
        <source>NG gallery</source>
        <translation>NIO-Galerie</translation>
    </message>
</context>
<context>
    <name>ImageView</name>
    <message>
        <source>Choose a source in the File menu, or drop a folder, video or image here</source>
        <translation>Eine Quelle im Menü Datei wählen oder einen Ordner, ein Video oder ein Bild hierher ziehen</translation>
    </message>
</context>
<context>
    <name>LinePanel</name>
    <message>
        <source>PLC (Modbus)</source>
        <translation>SPS (Modbus)</translation>
    </message>
    <message>
        <source>OPC UA</source>
        <translation>OPC UA</translation>
    </message>
    <message>
        <source>MQTT</source>
        <translation>MQTT</translation>
    </message>
    <message>
        <source>Trigger</source>
        <translation>Auslöser</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>Linie</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Last trigger</source>
        <translation>Letzter Auslöser</translation>
    </message>
    <message>
        <source>Last ack</source>
        <translation>Letzte Quittung</translation>
    </message>
    <message>
        <source>no part yet</source>
        <translation>noch kein Teil</translation>
    </message>
    <message>
        <source>not running</source>
        <translation>läuft nicht</translation>
    </message>
    <message>
        <source>not started</source>
        <translation>nicht gestartet</translation>
    </message>
    <message>
        <source>free run</source>
        <translation>Freilauf</translation>
    </message>
    <message>
        <source>{origin}: {verdict}</source>
        <translation>{origin}: {verdict}</translation>
    </message>
    <message>
        <source>missed ({count}): {reason}</source>
        <translation>verpasst ({count}): {reason}</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Log in</source>
        <translation>Anmelden</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>Wrong user name or password.</source>
        <translation>Falscher Benutzername oder falsches Passwort.</translation>
    </message>
    <message>
        <source>{user} may not do this: it needs {level}.</source>
        <translation>{user} darf das nicht: dafür ist {level} nötig.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Mask fill</source>
        <translation>Maske gefüllt</translation>
    </message>
    <message>
        <source>Contours</source>
        <translation>Konturen</translation>
    </message>
    <message>
        <source>Heat map</source>
        <translation>Heatmap</translation>
    </message>
    <message>
        <source>None</source>
        <translation>Keine</translation>
    </message>
    <message>
        <source>Inspection Station</source>
        <translation>Prüfstation</translation>
    </message>
    <message>
        <source>START</source>
        <translation>START</translation>
    </message>
    <message>
        <source>part id (optional)</source>
        <translation>Teilenummer (optional)</translation>
    </message>
    <message>
        <source>Sent with the next trigger and stored with its result</source>
        <translation>Geht mit dem nächsten Auslöser mit und wird mit seinem Ergebnis gespeichert</translation>
    </message>
    <message>
        <source>Open &amp;image…</source>
        <translation>&amp;Bild öffnen…</translation>
    </message>
    <message>
        <source>Open &amp;folder…</source>
        <translation>&amp;Ordner öffnen…</translation>
    </message>
    <message>
        <source>Open &amp;video…</source>
        <translation>&amp;Video öffnen…</translation>
    </message>
    <message>
        <source>Open &amp;camera…</source>
        <translation>&amp;Kamera öffnen…</translation>
    </message>
    <message>
        <source>Export results as &amp;CSV…</source>
        <translation>Ergebnisse als &amp;CSV exportieren…</translation>
    </message>
    <message>
        <source>Export results as &amp;JSON…</source>
        <translation>Ergebnisse als &amp;JSON exportieren…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;Start / stop</source>
        <translation>&amp;Start / Stopp</translation>
    </message>
    <message>
        <source>Single &amp;step</source>
        <translation>&amp;Einzelschritt</translation>
    </message>
    <message>
        <source>&amp;Trigger one part</source>
        <translation>Ein Teil &amp;auslösen</translation>
    </message>
    <message>
        <source>&amp;Pause / resume folder run</source>
        <translation>Ordnerlauf &amp;pausieren / fortsetzen</translation>
    </message>
    <message>
        <source>&amp;Watch folders for new images</source>
        <translation>Ordner auf neue Bilder &amp;beobachten</translation>
    </message>
    <message>
        <source>S&amp;kip images already inspected</source>
        <translation>Schon geprüfte Bilder &amp;überspringen</translation>
    </message>
    <message>
        <source>Play videos as a live &amp;camera</source>
        <translation>Videos als Live-&amp;Kamera abspielen</translation>
    </message>
    <message>
        <source>&amp;Fit image to window</source>
        <translation>Bild ans &amp;Fenster anpassen</translation>
    </message>
    <message>
        <source>F&amp;ull screen</source>
        <translation>&amp;Vollbild</translation>
    </message>
    <message>
        <source>&amp;Operator mode</source>
        <translation>&amp;Bedienermodus</translation>
    </message>
    <message>
        <source>Leave operator mode / full screen</source>
        <translation>Bedienermodus / Vollbild verlassen</translation>
    </message>
    <message>
        <source>&amp;Engineer settings…</source>
        <translation>&amp;Technikereinstellungen…</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>&amp;Tastenkürzel</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;Lauf</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>&amp;Einstellungen</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>Station</source>
        <translation>Station</translation>
    </message>
    <message>
        <source> Overlay </source>
        <translation> Überlagerung </translation>
    </message>
    <message>
        <source> Opacity </source>
        <translation> Deckkraft </translation>
    </message>
    <message>
        <source>No model bundle set: Settings › Engineer settings</source>
        <translation>Kein Modellpaket gesetzt: Einstellungen › Technikereinstellungen</translation>
    </message>
    <message>
        <source>loading {name}…</source>
        <translation>lade {name}…</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>Kein Modell geladen</translation>
    </message>
    <message>
        <source>no source chosen</source>
        <translation>keine Quelle gewählt</translation>
    </message>
    <message>
        <source>Source — {source}</source>
        <translation>Quelle — {source}</translation>
    </message>
    <message>
        <source>Cannot start: no model bundle is loaded (see Engineer settings)</source>
        <translation>Start nicht möglich: kein Modellpaket geladen (siehe Technikereinstellungen)</translation>
    </message>
    <message>
        <source>Cannot start: choose a source first (File menu or drop it here)</source>
        <translation>Start nicht möglich: zuerst eine Quelle wählen (Menü Datei, oder hierher ziehen)</translation>
    </message>
    <message>
        <source>Trigger ignored: press Start first</source>
        <translation>Auslöser übergangen: zuerst Start drücken</translation>
    </message>
    <message>
        <source>Trigger missed: {reason}</source>
        <translation>Auslöser verpasst: {reason}</translation>
    </message>
    <message>
        <source>Last run stopped: {n} frame(s)</source>
        <translation>Letzter Lauf angehalten: {n} Bild(er)</translation>
    </message>
    <message>
        <source>Last run done: {n} frame(s)</source>
        <translation>Letzter Lauf fertig: {n} Bild(er)</translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation>&amp;Stopp</translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation>&amp;Start</translation>
    </message>
    <message>
        <source>STOP</source>
        <translation>STOPP</translation>
    </message>
    <message>
        <source>{what}
cannot be inspected: {reason}</source>
        <translation>{what}
nicht prüfbar: {reason}</translation>
    </message>
    <message>
        <source>recorded result: no image of it was archived</source>
        <translation>gespeichertes Ergebnis: kein Bild davon archiviert</translation>
    </message>
    <message>
        <source>Export results as {kind}</source>
        <translation>Ergebnisse als {kind} exportieren</translation>
    </message>
    <message>
        <source>Results exported to {path}</source>
        <translation>Ergebnisse nach {path} exportiert</translation>
    </message>
</context>
<context>
    <name>MaskEditor</name>
    <message>
        <source>Brush</source>
        <translation>Pinsel</translation>
    </message>
    <message>
        <source>Eraser</source>
        <translation>Radierer</translation>
    </message>
    <message>
        <source>Brush diameter in image pixels ([ smaller, ] larger)</source>
        <translation>Pinseldurchmesser in Bildpixeln ([ kleiner, ] größer)</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>Rückgängig</translation>
    </message>
    <message>
        <source>From U-Net</source>
        <translation>Aus U-Net</translation>
    </message>
    <message>
        <source>From heat map</source>
        <translation>Aus Heatmap</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Leeren</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>{size} px</source>
        <translation>{size} px</translation>
    </message>
</context>
<context>
    <name>ModelTable</name>
    <message>
        <source>U-Net</source>
        <translation>U-Net</translation>
    </message>
    <message>
        <source>anomaly score</source>
        <translation>Anomaliewert</translation>
    </message>
    <message>
        <source>near miss</source>
        <translation>knapp darunter</translation>
    </message>
    <message>
        <source>info only</source>
        <translation>nur Info</translation>
    </message>
    <message>
        <source>WHAT-IF with the current thresholds (not the recorded verdict)</source>
        <translation>WAS-WÄRE-WENN mit den aktuellen Schwellen (nicht das gespeicherte Urteil)</translation>
    </message>
    <message>
        <source>recorded {clock}</source>
        <translation>gespeichert {clock}</translation>
    </message>
    <message>
        <source>{count} region(s), largest {px} px</source>
        <translation>{count} Bereich(e), größter {px} px</translation>
    </message>
    <message>
        <source>no region</source>
        <translation>kein Bereich</translation>
    </message>
    <message>
        <source>U-Net segmentation</source>
        <translation>U-Net-Segmentierung</translation>
    </message>
    <message>
        <source>score {score}</source>
        <translation>Wert {score}</translation>
    </message>
    <message>
        <source>, {count} region(s)</source>
        <translation>, {count} Bereich(e)</translation>
    </message>
    <message>
        <source>Anomaly model</source>
        <translation>Anomaliemodell</translation>
    </message>
    <message>
        <source>Global PCA + K-means</source>
        <translation>Global PCA + K-Means</translation>
    </message>
    <message>
        <source>Rejected by</source>
        <translation>Ausgesondert von</translation>
    </message>
    <message>
        <source>U-Net: defect {px} px</source>
        <translation>U-Net: Fehler {px} px</translation>
    </message>
    <message>
        <source>anomaly {score}</source>
        <translation>Anomalie {score}</translation>
    </message>
    <message>
        <source>What-if: judge this part with the current thresholds</source>
        <translation>Was-wäre-wenn: dieses Teil mit den aktuellen Schwellen beurteilen</translation>
    </message>
    <message>
        <source>Shows how today&apos;s thresholds would judge the replayed part; the recorded verdict stays in the store and comes back on the next click in the history</source>
        <translation>Zeigt, wie die heutigen Schwellen das wiedergegebene Teil beurteilen würden; das gespeicherte Urteil bleibt im Speicher und kommt beim nächsten Klick im Verlauf zurück</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>Grenze</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>Urteil</translation>
    </message>
</context>
<context>
    <name>OverlayLegend</name>
    <message>
        <source>filled</source>
        <translation>gefüllt</translation>
    </message>
    <message>
        <source>outline</source>
        <translation>Kontur</translation>
    </message>
    <message>
        <source>U-Net defect ({fill})</source>
        <translation>U-Net-Fehler ({fill})</translation>
    </message>
    <message>
        <source>anomaly region</source>
        <translation>Anomaliebereich</translation>
    </message>
    <message>
        <source>heat low → high, | map threshold</source>
        <translation>Heatmap niedrig → hoch, | Schwelle</translation>
    </message>
    <message>
        <source>heat low</source>
        <translation>niedrig</translation>
    </message>
    <message>
        <source>high   | map threshold</source>
        <translation>hoch   | Schwelle</translation>
    </message>
</context>
<context>
    <name>RecipeEditor</name>
    <message>
        <source>Id</source>
        <translation>Kennung</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Bundle</source>
        <translation>Modellpaket</translation>
    </message>
    <message>
        <source>Default</source>
        <translation>Standard</translation>
    </message>
    <message>
        <source>Operators</source>
        <translation>Bediener</translation>
    </message>
    <message>
        <source>all parts</source>
        <translation>alle Teile</translation>
    </message>
    <message>
        <source>NG parts only</source>
        <translation>nur NIO-Teile</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>Overlay mode</source>
        <translation>Überlagerung</translation>
    </message>
    <message>
        <source>Overlay images for</source>
        <translation>Überlagerungsbilder für</translation>
    </message>
    <message>
        <source>Archive originals of</source>
        <translation>Originale archivieren von</translation>
    </message>
    <message>
        <source>Image score threshold</source>
        <translation>Schwelle Bildwert</translation>
    </message>
    <message>
        <source>Pixel threshold</source>
        <translation>Pixelschwelle</translation>
    </message>
    <message>
        <source>Minimum defect area</source>
        <translation>Kleinste Fehlerfläche</translation>
    </message>
    <message>
        <source>New</source>
        <translation>Neu</translation>
    </message>
    <message>
        <source>Duplicate</source>
        <translation>Duplizieren</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Entfernen</translation>
    </message>
    <message>
        <source>Letters, digits, _ or -; fixed once the recipe is saved</source>
        <translation>Buchstaben, Ziffern, _ oder -; fest, sobald das Rezept gespeichert ist</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>override</source>
        <translation>überschreiben</translation>
    </message>
    <message>
        <source> px</source>
        <translation> px</translation>
    </message>
    <message>
        <source>the station starts with this recipe</source>
        <translation>die Station startet mit diesem Rezept</translation>
    </message>
    <message>
        <source>operators may switch to this recipe</source>
        <translation>Bediener dürfen zu diesem Rezept wechseln</translation>
    </message>
    <message>
        <source>Unchecked: only an engineer may select it</source>
        <translation>Nicht angehakt: nur ein Techniker darf es wählen</translation>
    </message>
    <message>
        <source>Selected recipe</source>
        <translation>Gewähltes Rezept</translation>
    </message>
    <message>
        <source>Model bundle</source>
        <translation>Modellpaket</translation>
    </message>
    <message>
        <source>Unchecked: the bundle&apos;s own calibrated value</source>
        <translation>Nicht angehakt: der kalibrierte Wert des Modellpakets</translation>
    </message>
    <message>
        <source>Default recipe</source>
        <translation>Standardrezept</translation>
    </message>
    <message>
        <source>What station-train compare --record wrote into the bundle</source>
        <translation>Was station-train compare --record in das Modellpaket schrieb</translation>
    </message>
    <message>
        <source>Comparison</source>
        <translation>Vergleich</translation>
    </message>
    <message>
        <source>Relative bundle paths are relative to the recipe file&apos;s folder. Saving rewrites the file: comments written by hand are not kept.</source>
        <translation>Relative Pfade von Modellpaketen gelten ab dem Ordner der Rezeptdatei. Speichern schreibt die Datei neu: Kommentare von Hand bleiben nicht erhalten.</translation>
    </message>
    <message>
        <source>Reload</source>
        <translation>Neu laden</translation>
    </message>
    <message>
        <source>Read the file again, dropping unsaved changes</source>
        <translation>Datei neu lesen, ungespeicherte Änderungen verwerfen</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Speichern</translation>
    </message>
    <message>
        <source>● modified (not saved)</source>
        <translation>● geändert (nicht gespeichert)</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>may select</source>
        <translation>dürfen wählen</translation>
    </message>
    <message>
        <source>Model bundle folder</source>
        <translation>Ordner des Modellpakets</translation>
    </message>
    <message>
        <source>No recipe file yet at {path}: New adds a recipe, Save creates it.</source>
        <translation>Noch keine Rezeptdatei unter {path}: Neu legt ein Rezept an, Speichern erstellt sie.</translation>
    </message>
    <message>
        <source>{error}
Fix the file by hand, then Reload.</source>
        <translation>{error}
Datei von Hand korrigieren, dann Neu laden.</translation>
    </message>
    <message>
        <source>{count} recipe(s) in {path}</source>
        <translation>{count} Rezept(e) in {path}</translation>
    </message>
    <message>
        <source>{path}: cannot write ({error})</source>
        <translation>{path}: kann nicht schreiben ({error})</translation>
    </message>
    <message>
        <source>Saved {count} recipe(s) to {path}</source>
        <translation>{count} Rezept(e) in {path} gespeichert</translation>
    </message>
</context>
<context>
    <name>ReviewActions</name>
    <message>
        <source>&amp;Flag part for review</source>
        <translation>Teil zur &amp;Prüfung markieren</translation>
    </message>
    <message>
        <source>&amp;Review queue…</source>
        <translation>&amp;Prüfwarteschlange…</translation>
    </message>
    <message>
        <source>E&amp;xport reviewed parts…</source>
        <translation>Geprüfte Teile e&amp;xportieren…</translation>
    </message>
    <message>
        <source>Roll &amp;back the recipe&apos;s bundle</source>
        <translation>Modellpaket des Rezepts &amp;zurücksetzen</translation>
    </message>
    <message>
        <source>Queue the part on screen for an engineer&apos;s review</source>
        <translation>Das gezeigte Teil zur Prüfung durch einen Techniker einreihen</translation>
    </message>
    <message>
        <source>The decided parts as an MVTec AD dataset (added to a folder)</source>
        <translation>Die entschiedenen Teile als MVTec-AD-Datensatz (in einen Ordner ergänzt)</translation>
    </message>
    <message>
        <source>Back to the bundle the recipe used before its last change</source>
        <translation>Zurück zum Modellpaket, das das Rezept vor der letzten Änderung nutzte</translation>
    </message>
    <message>
        <source>Re&amp;view</source>
        <translation>P&amp;rüfung</translation>
    </message>
    <message>
        <source>No results store is open: no review queue</source>
        <translation>Kein Ergebnisspeicher offen: keine Prüfwarteschlange</translation>
    </message>
    <message>
        <source>Review queue not available: {error}</source>
        <translation>Prüfwarteschlange nicht verfügbar: {error}</translation>
    </message>
    <message>
        <source>Nothing to flag: no part on screen</source>
        <translation>Nichts zu markieren: kein Teil im Bild</translation>
    </message>
    <message>
        <source>Part not flagged for review: {error}</source>
        <translation>Teil nicht zur Prüfung markiert: {error}</translation>
    </message>
    <message>
        <source>Part #{part} flagged for review ({pending} pending)</source>
        <translation>Teil #{part} zur Prüfung markiert ({pending} offen)</translation>
    </message>
    <message>
        <source>Not allowed: reviewing needs an {needed} login (now: {level})</source>
        <translation>Nicht erlaubt: Prüfen braucht eine Anmeldung als {needed} (jetzt: {level})</translation>
    </message>
    <message>
        <source>No results store is open; nothing to export</source>
        <translation>Kein Ergebnisspeicher offen; nichts zu exportieren</translation>
    </message>
    <message>
        <source>Export reviewed parts: dataset folder (MVTec AD layout)</source>
        <translation>Geprüfte Teile exportieren: Datensatzordner (MVTec-AD-Aufbau)</translation>
    </message>
    <message>
        <source>An export is already running</source>
        <translation>Ein Export läuft bereits</translation>
    </message>
    <message>
        <source>Exporting reviewed parts to {folder}…</source>
        <translation>Exportiere geprüfte Teile nach {folder}…</translation>
    </message>
    <message>
        <source>Reviewed parts not exported: {error}</source>
        <translation>Geprüfte Teile nicht exportiert: {error}</translation>
    </message>
    <message>
        <source>Not exported: {failure}</source>
        <translation>Nicht exportiert: {failure}</translation>
    </message>
    <message>
        <source>{file}: its decision changed after it was exported; the dataset keeps the earlier one</source>
        <translation>{file}: die Entscheidung änderte sich nach dem Export; der Datensatz behält die frühere</translation>
    </message>
    <message>
        <source>Exported {n} part(s) to {folder}: {good} good</source>
        <translation>{n} Teil(e) nach {folder} exportiert: {good} gut</translation>
    </message>
    <message>
        <source>, defective: {types}</source>
        <translation>, fehlerhaft: {types}</translation>
    </message>
    <message>
        <source>; {n} exported before</source>
        <translation>; {n} früher exportiert</translation>
    </message>
    <message>
        <source>This recipe has no previous bundle to go back to</source>
        <translation>Dieses Rezept hat kein früheres Modellpaket, zu dem es zurück könnte</translation>
    </message>
    <message>
        <source>{file}: roll back not saved ({error})</source>
        <translation>{file}: Zurücksetzen nicht gespeichert ({error})</translation>
    </message>
    <message>
        <source>Recipe {recipe} rolled back to {bundle}</source>
        <translation>Rezept {recipe} auf {bundle} zurückgesetzt</translation>
    </message>
</context>
<context>
    <name>ReviewScreen</name>
    <message>
        <source>models disagree</source>
        <translation>Modelle uneins</translation>
    </message>
    <message>
        <source>score near its threshold</source>
        <translation>Wert nahe der Schwelle</translation>
    </message>
    <message>
        <source>flagged by an operator</source>
        <translation>von einem Bediener markiert</translation>
    </message>
    <message>
        <source>audit sample</source>
        <translation>Stichprobe</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>Offen</translation>
    </message>
    <message>
        <source>Decided</source>
        <translation>Entschieden</translation>
    </message>
    <message>
        <source>All</source>
        <translation>Alle</translation>
    </message>
    <message>
        <source>Review queue</source>
        <translation>Prüfwarteschlange</translation>
    </message>
    <message>
        <source>Refresh  (F5)</source>
        <translation>Aktualisieren  (F5)</translation>
    </message>
    <message>
        <source>Read the queue again: new parts come in, decided ones leave</source>
        <translation>Warteschlange neu lesen: neue Teile kommen hinzu, entschiedene gehen</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>What the station saw</source>
        <translation>Was die Station sah</translation>
    </message>
    <message>
        <source>U-Net mask</source>
        <translation>U-Net-Maske</translation>
    </message>
    <message>
        <source>Anomaly heat map</source>
        <translation>Anomalie-Heatmap</translation>
    </message>
    <message>
        <source>✔ Good  (G)</source>
        <translation>✔ Gut  (G)</translation>
    </message>
    <message>
        <source>✖ Defective  (D)</source>
        <translation>✖ Fehlerhaft  (D)</translation>
    </message>
    <message>
        <source>1–9 pick a type; type a new name for a new one</source>
        <translation>1–9 wählt eine Art; für eine neue einen neuen Namen tippen</translation>
    </message>
    <message>
        <source>defect type</source>
        <translation>Fehlerart</translation>
    </message>
    <message>
        <source>no outline (save an empty mask)</source>
        <translation>keine Kontur (leere Maske speichern)</translation>
    </message>
    <message>
        <source>For a defect that cannot be painted, e.g. a missing part</source>
        <translation>Für einen Fehler, der sich nicht malen lässt, z. B. ein fehlendes Teil</translation>
    </message>
    <message>
        <source>Save and next  (Enter)</source>
        <translation>Speichern und weiter  (Enter)</translation>
    </message>
    <message>
        <source>Decision</source>
        <translation>Entscheidung</translation>
    </message>
    <message>
        <source>Defect type</source>
        <translation>Fehlerart</translation>
    </message>
    <message>
        <source>History of this part</source>
        <translation>Verlauf dieses Teils</translation>
    </message>
    <message>
        <source>G good · D defective · 1–9 type · Enter save · N / P next / previous · B brush · E eraser · [ ] size · Ctrl+Z undo · U / H start from U-Net / heat map</source>
        <translation>G gut · D fehlerhaft · 1–9 Art · Enter speichern · N / P nächstes / voriges · B Pinsel · E Radierer · [ ] Größe · Strg+Z rückgängig · U / H von U-Net / Heatmap ausgehen</translation>
    </message>
    <message>
        <source>Review queue not readable: {error}</source>
        <translation>Prüfwarteschlange nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>{listed} listed, {pending} pending</source>
        <translation>{listed} gelistet, {pending} offen</translation>
    </message>
    <message>
        <source>The review queue is empty</source>
        <translation>Die Prüfwarteschlange ist leer</translation>
    </message>
    <message>
        <source>Part #{part} (review item {item}), queued {when}</source>
        <translation>Teil #{part} (Prüfeintrag {item}), eingereiht {when}</translation>
    </message>
    <message>
        <source>Why queued: {reasons}</source>
        <translation>Warum eingereiht: {reasons}</translation>
    </message>
    <message>
        <source>Pending: G good, D defective</source>
        <translation>Offen: G gut, D fehlerhaft</translation>
    </message>
    <message>
        <source>history not readable: {error}</source>
        <translation>Verlauf nicht lesbar: {error}</translation>
    </message>
    <message>
        <source>no decision yet</source>
        <translation>noch keine Entscheidung</translation>
    </message>
    <message>
        <source>good</source>
        <translation>gut</translation>
    </message>
    <message>
        <source>defective / {type}</source>
        <translation>fehlerhaft / {type}</translation>
    </message>
    <message>
        <source>Decided {what} by {reviewer}, {when}</source>
        <translation>Entschieden: {what}, von {reviewer}, {when}</translation>
    </message>
    <message>
        <source>Station: {verdict}   U-Net: {unet}   Anomaly: {anomaly}
Anomaly score {score} / threshold {threshold}</source>
        <translation>Station: {verdict}   U-Net: {unet}   Anomalie: {anomaly}
Anomaliewert {score} / Schwelle {threshold}</translation>
    </message>
    <message>
        <source>no U-Net</source>
        <translation>kein U-Net</translation>
    </message>
    <message>
        <source>no anomaly model</source>
        <translation>kein Anomaliemodell</translation>
    </message>
    <message>
        <source>operator (not logged in)</source>
        <translation>Bediener (nicht angemeldet)</translation>
    </message>
    <message>
        <source>flagged by {who}</source>
        <translation>markiert von {who}</translation>
    </message>
    <message>
        <source>· pending</source>
        <translation>· offen</translation>
    </message>
    <message>
        <source>✔ good</source>
        <translation>✔ gut</translation>
    </message>
    <message>
        <source>Enter saves</source>
        <translation>Enter speichert</translation>
    </message>
    <message>
        <source>Paint the defect, pick a type, Enter</source>
        <translation>Fehler malen, Art wählen, Enter</translation>
    </message>
    <message>
        <source>Choose first: G good, D defective</source>
        <translation>Zuerst wählen: G gut, D fehlerhaft</translation>
    </message>
    <message>
        <source>Saved part #{part}: {what}</source>
        <translation>Teil #{part} gespeichert: {what}</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>NG images only</source>
        <translation>nur NIO-Bilder</translation>
    </message>
    <message>
        <source>all images</source>
        <translation>alle Bilder</translation>
    </message>
    <message>
        <source>nothing</source>
        <translation>nichts</translation>
    </message>
    <message>
        <source>PLC (Modbus TCP) listens on</source>
        <translation>SPS (Modbus TCP) lauscht auf</translation>
    </message>
    <message>
        <source>OPC UA server listens on</source>
        <translation>OPC-UA-Server lauscht auf</translation>
    </message>
    <message>
        <source>MQTT broker</source>
        <translation>MQTT-Broker</translation>
    </message>
    <message>
        <source>Engineer settings</source>
        <translation>Technikereinstellungen</translation>
    </message>
    <message>
        <source>Thresholds</source>
        <translation>Schwellen</translation>
    </message>
    <message>
        <source>Model and output</source>
        <translation>Modell und Ausgabe</translation>
    </message>
    <message>
        <source>Recipes</source>
        <translation>Rezepte</translation>
    </message>
    <message>
        <source>Line links</source>
        <translation>Linienanbindung</translation>
    </message>
    <message>
        <source>Alarms and shifts</source>
        <translation>Alarme und Schichten</translation>
    </message>
    <message>
        <source>Model info</source>
        <translation>Modellinfo</translation>
    </message>
    <message>
        <source> px</source>
        <translation> px</translation>
    </message>
    <message>
        <source>Anomaly score at or above which the part is NG</source>
        <translation>Anomaliewert, ab dem das Teil NIO ist</translation>
    </message>
    <message>
        <source>Defect probability at or above which a pixel is defective</source>
        <translation>Fehlerwahrscheinlichkeit, ab der ein Pixel fehlerhaft ist</translation>
    </message>
    <message>
        <source>Smaller defect regions are ignored (pixels of the original image)</source>
        <translation>Kleinere Fehlerbereiche werden übergangen (Pixel des Originalbilds)</translation>
    </message>
    <message>
        <source>Image score threshold</source>
        <translation>Schwelle Bildwert</translation>
    </message>
    <message>
        <source>Pixel threshold</source>
        <translation>Pixelschwelle</translation>
    </message>
    <message>
        <source>Minimum defect area</source>
        <translation>Kleinste Fehlerfläche</translation>
    </message>
    <message>
        <source>Restore the bundle&apos;s thresholds</source>
        <translation>Schwellen des Modellpakets wiederherstellen</translation>
    </message>
    <message>
        <source>The verdict of the image on screen follows these values as you change them.</source>
        <translation>Das Urteil über das gezeigte Bild folgt diesen Werten, während Sie sie ändern.</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>Ordner…</translation>
    </message>
    <message>
        <source>Zip…</source>
        <translation>Zip…</translation>
    </message>
    <message>
        <source>Model bundle</source>
        <translation>Modellpaket</translation>
    </message>
    <message>
        <source>Only those this onnxruntime can run. auto: the fastest of them (CUDA, DirectML, CoreML, then CPU)</source>
        <translation>Nur die, die diese onnxruntime ausführen kann. auto: der schnellste davon (CUDA, DirectML, CoreML, dann CPU)</translation>
    </message>
    <message>
        <source>Execution provider</source>
        <translation>Ausführungsanbieter</translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation>Ausgabeordner</translation>
    </message>
    <message>
        <source>Archive</source>
        <translation>Archivieren</translation>
    </message>
    <message>
        <source>In software-trigger mode this key triggers a part, as Space does: press the foot pedal (or the key it types) here</source>
        <translation>Im Software-Auslösemodus löst diese Taste ein Teil aus, wie die Leertaste: hier das Fußpedal (oder die Taste, die es sendet) drücken</translation>
    </message>
    <message>
        <source>Foot pedal key</source>
        <translation>Fußpedal-Taste</translation>
    </message>
    <message>
        <source>the system&apos;s ({language})</source>
        <translation>die des Systems ({language})</translation>
    </message>
    <message>
        <source>The window&apos;s language, from the next start</source>
        <translation>Die Sprache des Fensters, ab dem nächsten Start</translation>
    </message>
    <message>
        <source>Language (next start)</source>
        <translation>Sprache (nächster Start)</translation>
    </message>
    <message>
        <source>Model bundle folder</source>
        <translation>Ordner des Modellpakets</translation>
    </message>
    <message>
        <source>Bundles (*.zip)</source>
        <translation>Modellpakete (*.zip)</translation>
    </message>
    <message>
        <source>Empty: no recipes, the model bundle of the previous tab is used. Saving recipes here uses the file shown (the grey suggestion when empty).</source>
        <translation>Leer: keine Rezepte, das Modellpaket der vorigen Registerkarte gilt. Beim Speichern von Rezepten wird die gezeigte Datei verwendet (der graue Vorschlag, wenn leer).</translation>
    </message>
    <message>
        <source>File…</source>
        <translation>Datei…</translation>
    </message>
    <message>
        <source>Recipe file</source>
        <translation>Rezeptdatei</translation>
    </message>
    <message>
        <source>Recipes (*.toml)</source>
        <translation>Rezepte (*.toml)</translation>
    </message>
    <message>
        <source>off; e.g. {example}</source>
        <translation>aus; z. B. {example}</translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation>unverändert</translation>
    </message>
    <message>
        <source>choose one</source>
        <translation>eines wählen</translation>
    </message>
    <message>
        <source>OPC UA user</source>
        <translation>OPC-UA-Benutzer</translation>
    </message>
    <message>
        <source>OPC UA password</source>
        <translation>OPC-UA-Passwort</translation>
    </message>
    <message>
        <source>mqtts://: CA file (PEM); else system CAs</source>
        <translation>mqtts://: CA-Datei (PEM); sonst die des Systems</translation>
    </message>
    <message>
        <source>MQTT CA file</source>
        <translation>MQTT-CA-Datei</translation>
    </message>
    <message>
        <source>MQTT client certificate</source>
        <translation>MQTT-Client-Zertifikat</translation>
    </message>
    <message>
        <source>mqtts://: certificate (PEM), if the broker asks for one</source>
        <translation>mqtts://: Zertifikat (PEM), wenn der Broker eines verlangt</translation>
    </message>
    <message>
        <source>MQTT client key</source>
        <translation>MQTT-Client-Schlüssel</translation>
    </message>
    <message>
        <source>mqtts://: its private key (PEM)</source>
        <translation>mqtts://: sein privater Schlüssel (PEM)</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>Applied on OK. Triggers from the line are taken while a run in software-trigger mode is on. The OPC UA password is kept only as a salted hash; the server makes its certificate on first start (docs/opcua.md).</source>
        <translation>Gilt ab OK. Auslöser von der Linie werden angenommen, solange ein Lauf im Software-Auslösemodus läuft. Das OPC-UA-Passwort wird nur als gesalzener Hash gespeichert; der Server erzeugt sein Zertifikat beim ersten Start (docs/opcua.md).</translation>
    </message>
    <message>
        <source>No model bundle is loaded.</source>
        <translation>Kein Modellpaket geladen.</translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>Tastenkürzel</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>Aktion</translation>
    </message>
    <message>
        <source>Key</source>
        <translation>Taste</translation>
    </message>
</context>
<context>
    <name>StationStatusBar</name>
    <message>
        <source>state of the station (OPC UA for Machine Vision, OPC 40100-1)</source>
        <translation>Zustand der Station (OPC UA for Machine Vision, OPC 40100-1)</translation>
    </message>
    <message>
        <source>onnxruntime execution provider the models really run on</source>
        <translation>onnxruntime-Ausführungsanbieter, auf dem die Modelle wirklich laufen</translation>
    </message>
    <message>
        <source>time from frame to result on screen, last frame</source>
        <translation>Zeit vom Bild zum Ergebnis auf dem Schirm, letztes Bild</translation>
    </message>
    <message>
        <source>results per second over the last {n} s</source>
        <translation>Ergebnisse je Sekunde über die letzten {n} s</translation>
    </message>
    <message>
        <source>live frames not inspected because a newer frame arrived first</source>
        <translation>Live-Bilder, die nicht geprüft wurden, weil zuerst ein neueres kam</translation>
    </message>
    <message>
        <source>triggers that came while the station was busy or not ready</source>
        <translation>Auslöser, die kamen, während die Station beschäftigt oder nicht bereit war</translation>
    </message>
    <message>
        <source>model bundle in use</source>
        <translation>verwendetes Modellpaket</translation>
    </message>
    <message>
        <source>line links: PLC over Modbus TCP, MQTT (engineer settings)</source>
        <translation>Linienanbindung: SPS über Modbus TCP, MQTT (Technikereinstellungen)</translation>
    </message>
    <message>
        <source>latency –</source>
        <translation>Latenz –</translation>
    </message>
    <message>
        <source>FPS –</source>
        <translation>FPS –</translation>
    </message>
    <message>
        <source>provider {name}</source>
        <translation>Anbieter {name}</translation>
    </message>
    <message>
        <source>precision {label}</source>
        <translation>Genauigkeit {label}</translation>
    </message>
    <message>
        <source>bundle {name}</source>
        <translation>Modellpaket {name}</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>dropped {count}</source>
        <translation>verworfen {count}</translation>
    </message>
    <message>
        <source>missed {count}</source>
        <translation>verpasst {count}</translation>
    </message>
    <message>
        <source>latency {ms} ms</source>
        <translation>Latenz {ms} ms</translation>
    </message>
    <message>
        <source>FPS {fps}</source>
        <translation>FPS {fps}</translation>
    </message>
</context>
<context>
    <name>StatisticsDock</name>
    <message>
        <source>Statistics</source>
        <translation>Statistik</translation>
    </message>
</context>
<context>
    <name>StatisticsView</name>
    <message>
        <source>running total</source>
        <translation>laufende Summe</translation>
    </message>
    <message>
        <source>lot name (order or batch number)</source>
        <translation>Losname (Auftrags- oder Chargennummer)</translation>
    </message>
    <message>
        <source>Start lot</source>
        <translation>Los beginnen</translation>
    </message>
    <message>
        <source>End lot</source>
        <translation>Los beenden</translation>
    </message>
    <message>
        <source>no lot open</source>
        <translation>kein Los offen</translation>
    </message>
    <message>
        <source>Lot</source>
        <translation>Los</translation>
    </message>
    <message>
        <source>parts</source>
        <translation>Teile</translation>
    </message>
    <message>
        <source>yield</source>
        <translation>Ausbeute</translation>
    </message>
    <message>
        <source>errors</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>min ms</source>
        <translation>min. ms</translation>
    </message>
    <message>
        <source>mean ms</source>
        <translation>Mittel ms</translation>
    </message>
    <message>
        <source>p95 ms</source>
        <translation>p95 ms</translation>
    </message>
    <message>
        <source>max ms</source>
        <translation>max. ms</translation>
    </message>
    <message>
        <source>parts / min</source>
        <translation>Teile / min</translation>
    </message>
    <message>
        <source>Yield trend</source>
        <translation>Ausbeuteverlauf</translation>
    </message>
    <message>
        <source>NG by reason</source>
        <translation>NIO nach Grund</translation>
    </message>
    <message>
        <source>NG parts</source>
        <translation>NIO-Teile</translation>
    </message>
    <message>
        <source>Counters</source>
        <translation>Zähler</translation>
    </message>
    <message>
        <source>Processing time per part and rate</source>
        <translation>Bearbeitungszeit je Teil und Durchsatz</translation>
    </message>
    <message>
        <source>no results store is open</source>
        <translation>kein Ergebnisspeicher offen</translation>
    </message>
    <message>
        <source>lot {name} open since {since}</source>
        <translation>Los {name} offen seit {since}</translation>
    </message>
    <message>
        <source>Yield trend, {period}</source>
        <translation>Ausbeuteverlauf, {period}</translation>
    </message>
    <message>
        <source>NG by reason, {period}</source>
        <translation>NIO nach Grund, {period}</translation>
    </message>
</context>
<context>
    <name>TriggerPanel</name>
    <message>
        <source>Recipe (product): switching loads its model first</source>
        <translation>Rezept (Produkt): beim Wechsel wird zuerst sein Modell geladen</translation>
    </message>
    <message>
        <source>Free run, or one part per trigger</source>
        <translation>Freilauf oder ein Teil je Auslöser</translation>
    </message>
    <message>
        <source>Free run</source>
        <translation>Freilauf</translation>
    </message>
    <message>
        <source>Software trigger</source>
        <translation>Software-Auslöser</translation>
    </message>
    <message>
        <source>TRIGGER</source>
        <translation>AUSLÖSEN</translation>
    </message>
    <message>
        <source>Leave operator mode</source>
        <translation>Bedienermodus verlassen</translation>
    </message>
    <message>
        <source>Back to the engineer&apos;s view (also Esc)</source>
        <translation>Zurück zur Technikeransicht (auch Esc)</translation>
    </message>
    <message>
        <source>Recipe</source>
        <translation>Rezept</translation>
    </message>
    <message>
        <source>missed triggers: {count}</source>
        <translation>verpasste Auslöser: {count}</translation>
    </message>
    <message>
        <source>none loaded</source>
        <translation>keines geladen</translation>
    </message>
    <message>
        <source>keys: {keys}</source>
        <translation>Tasten: {keys}</translation>
    </message>
</context>
<context>
    <name>UsersDialog</name>
    <message>
        <source>Users</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>Stufe</translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation>unverändert</translation>
    </message>
    <message>
        <source>Add user</source>
        <translation>Benutzer anlegen</translation>
    </message>
    <message>
        <source>Apply to selected</source>
        <translation>Auf Gewählten anwenden</translation>
    </message>
    <message>
        <source>Remove selected</source>
        <translation>Gewählten entfernen</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>Repeat</source>
        <translation>Wiederholen</translation>
    </message>
    <message>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <source>never</source>
        <translation>nie</translation>
    </message>
    <message>
        <source>Without input for this long, whoever is logged in is logged out</source>
        <translation>Nach so langer Zeit ohne Eingabe wird abgemeldet, wer angemeldet ist</translation>
    </message>
    <message>
        <source>Idle log-out after</source>
        <translation>Abmelden bei Untätigkeit nach</translation>
    </message>
    <message>
        <source>Added {name}</source>
        <translation>{name} angelegt</translation>
    </message>
    <message>
        <source>Changed {name}</source>
        <translation>{name} geändert</translation>
    </message>
    <message>
        <source>Removed {name}</source>
        <translation>{name} entfernt</translation>
    </message>
</context>
<context>
    <name>VerdictBanner</name>
    <message>
        <source>anomaly score {score} {relation} threshold {limit}</source>
        <translation>Anomaliewert {score} {relation} Schwelle {limit}</translation>
    </message>
    <message>
        <source>largest defect {px} px (counted from {minimum} px)</source>
        <translation>größter Fehler {px} px (gezählt ab {minimum} px)</translation>
    </message>
    <message>
        <source>; near miss {px} px</source>
        <translation>; knapp darunter {px} px</translation>
    </message>
    <message>
        <source>READY</source>
        <translation>BEREIT</translation>
    </message>
    <message>
        <source>waiting for the first part</source>
        <translation>warte auf das erste Teil</translation>
    </message>
    <message>
        <source>cannot inspect {what}: {reason}</source>
        <translation>{what} nicht prüfbar: {reason}</translation>
    </message>
    <message>
        <source>no defect found</source>
        <translation>kein Fehler gefunden</translation>
    </message>
</context>
<context>
    <name>WindowAccess</name>
    <message>
        <source>Users not loaded: {error}</source>
        <translation>Benutzer nicht geladen: {error}</translation>
    </message>
    <message>
        <source>&amp;Log in…</source>
        <translation>&amp;Anmelden…</translation>
    </message>
    <message>
        <source>Log &amp;out</source>
        <translation>&amp;Abmelden</translation>
    </message>
    <message>
        <source>&amp;Users…</source>
        <translation>&amp;Benutzer…</translation>
    </message>
    <message>
        <source>&amp;Audit trail…</source>
        <translation>Änderungs&amp;protokoll…</translation>
    </message>
    <message>
        <source>&amp;Users</source>
        <translation>&amp;Benutzer</translation>
    </message>
    <message>
        <source>Inspection Station — {user}</source>
        <translation>Prüfstation — {user}</translation>
    </message>
    <message>
        <source>Quit during a run</source>
        <translation>Während eines Laufs beenden</translation>
    </message>
    <message>
        <source>A run is going on. Stop it and quit the station?</source>
        <translation>Ein Lauf ist im Gange. Anhalten und die Station beenden?</translation>
    </message>
    <message>
        <source>{name} logged out after {minutes:g} min without input</source>
        <translation>{name} nach {minutes:g} min ohne Eingabe abgemeldet</translation>
    </message>
</context>
<context>
    <name>_Pager</name>
    <message>
        <source>◀ Newer</source>
        <translation>◀ Neuere</translation>
    </message>
    <message>
        <source>Older ▶</source>
        <translation>Ältere ▶</translation>
    </message>
    <message>
        <source>page {page} / {pages} · {total} parts</source>
        <translation>Seite {page} / {pages} · {total} Teile</translation>
    </message>
</context>
<context>
    <name>engine_text</name>
    <message>
        <source>{limit} NG parts in a row</source>
        <translation>{limit} NIO-Teile in Folge</translation>
    </message>
    <message>
        <source>NG rate {rate} % over the last {window} parts (limit {limit} %)</source>
        <translation>NIO-Quote {rate} % über die letzten {window} Teile (Grenze {limit} %)</translation>
    </message>
    <message>
        <source>{count} live frames not inspected in this run: the station cannot keep up</source>
        <translation>{count} Live-Bilder in diesem Lauf nicht geprüft: die Station kommt nicht nach</translation>
    </message>
    <message>
        <source>line link {name} is down</source>
        <translation>Linienanbindung {name} ausgefallen</translation>
    </message>
    <message>
        <source>lot {name}</source>
        <translation>Los {name}</translation>
    </message>
    <message>
        <source>shift {span}</source>
        <translation>Schicht {span}</translation>
    </message>
    <message>
        <source>last hour</source>
        <translation>letzte Stunde</translation>
    </message>
    <message>
        <source>anomaly score</source>
        <translation>Anomaliewert</translation>
    </message>
    <message>
        <source>U-Net + anomaly</source>
        <translation>U-Net + Anomalie</translation>
    </message>
    <message>
        <source>not recorded</source>
        <translation>nicht erfasst</translation>
    </message>
</context>
<context>
    <name>permissions</name>
    <message>
        <source>start and stop a run</source>
        <translation>einen Lauf zu starten und anzuhalten</translation>
    </message>
    <message>
        <source>trigger a part</source>
        <translation>ein Teil auszulösen</translation>
    </message>
    <message>
        <source>select a recipe open to operators</source>
        <translation>ein für Bediener freigegebenes Rezept zu wählen</translation>
    </message>
    <message>
        <source>select any recipe</source>
        <translation>ein beliebiges Rezept zu wählen</translation>
    </message>
    <message>
        <source>reset the counters</source>
        <translation>die Zähler zurückzusetzen</translation>
    </message>
    <message>
        <source>change the source</source>
        <translation>die Quelle zu ändern</translation>
    </message>
    <message>
        <source>change thresholds, model, provider and line settings</source>
        <translation>Schwellen, Modell, Anbieter und Linienanbindung zu ändern</translation>
    </message>
    <message>
        <source>create, edit and delete recipes</source>
        <translation>Rezepte anzulegen, zu ändern und zu löschen</translation>
    </message>
    <message>
        <source>quit during a run without confirming</source>
        <translation>während eines Laufs ohne Rückfrage zu beenden</translation>
    </message>
    <message>
        <source>view and export the audit trail</source>
        <translation>das Änderungsprotokoll anzusehen und zu exportieren</translation>
    </message>
    <message>
        <source>manage users</source>
        <translation>Benutzer zu verwalten</translation>
    </message>
    <message>
        <source>operator</source>
        <translation>Bediener</translation>
    </message>
    <message>
        <source>engineer</source>
        <translation>Techniker</translation>
    </message>
    <message>
        <source>administrator</source>
        <translation>Administrator</translation>
    </message>
    <message>
        <source>Not allowed: to {action} log in as {needed} (now: {level})</source>
        <translation>Nicht erlaubt: um {action}, als {needed} anmelden (jetzt: {level})</translation>
    </message>
</context>
<context>
    <name>review_comparison</name>
    <message>
        <source>recall (defective parts rejected)</source>
        <translation>Trefferquote (fehlerhafte Teile ausgesondert)</translation>
    </message>
    <message>
        <source>false-reject rate (good parts rejected)</source>
        <translation>Fehlausschussrate (gute Teile ausgesondert)</translation>
    </message>
    <message>
        <source>U-Net Dice, mean over types</source>
        <translation>U-Net-Dice, Mittel über die Arten</translation>
    </message>
    <message>
        <source>image AUROC</source>
        <translation>Bild-AUROC</translation>
    </message>
    <message>
        <source>pixel AUROC, U-Net</source>
        <translation>Pixel-AUROC, U-Net</translation>
    </message>
    <message>
        <source>pixel AUROC, anomaly heat</source>
        <translation>Pixel-AUROC, Anomalie-Heatmap</translation>
    </message>
    <message>
        <source>recall</source>
        <translation>Trefferquote</translation>
    </message>
    <message>
        <source>false rejects</source>
        <translation>Fehlausschuss</translation>
    </message>
    <message>
        <source>Dice</source>
        <translation>Dice</translation>
    </message>
    <message>
        <source>against {champion}: {figures} ({n} images)</source>
        <translation>gegen {champion}: {figures} ({n} Bilder)</translation>
    </message>
    <message>
        <source>{n} images ({defective} defective, {good} good) neither bundle trained on; verdicts differ on {differ}</source>
        <translation>{n} Bilder ({defective} fehlerhaft, {good} gut), auf denen keines der Modellpakete lernte; Urteile verschieden bei {differ}</translation>
    </message>
    <message>
        <source>Challenger &lt;b&gt;{challenger}&lt;/b&gt; against champion &lt;b&gt;{champion}&lt;/b&gt;</source>
        <translation>Herausforderer &lt;b&gt;{challenger}&lt;/b&gt; gegen Titelverteidiger &lt;b&gt;{champion}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>figure</source>
        <translation>Kennzahl</translation>
    </message>
    <message>
        <source>champion</source>
        <translation>Titelverteidiger</translation>
    </message>
    <message>
        <source>challenger</source>
        <translation>Herausforderer</translation>
    </message>
    <message>
        <source>data: {data}, {time}&lt;br&gt;report: {report}</source>
        <translation>Daten: {data}, {time}&lt;br&gt;Bericht: {report}</translation>
    </message>
</context>
<context>
    <name>session</name>
    <message>
        <source>not logged in (operator)</source>
        <translation>nicht angemeldet (Bediener)</translation>
    </message>
</context>
<context>
    <name>source_picker</name>
    <message>
        <source>folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <source>video</source>
        <translation>Video</translation>
    </message>
    <message>
        <source>image</source>
        <translation>Bild</translation>
    </message>
    <message>
        <source>camera {spec}</source>
        <translation>Kamera {spec}</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>{kind} file</source>
        <translation>{kind}-Datei</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>Bilder</translation>
    </message>
    <message>
        <source>Inspect an image</source>
        <translation>Ein Bild prüfen</translation>
    </message>
    <message>
        <source>Inspect a folder of images</source>
        <translation>Einen Bilderordner prüfen</translation>
    </message>
    <message>
        <source>Videos</source>
        <translation>Videos</translation>
    </message>
    <message>
        <source>Inspect a video</source>
        <translation>Ein Video prüfen</translation>
    </message>
</context>
<context>
    <name>verdict</name>
    <message>
        <source>OK</source>
        <translation>IO</translation>
    </message>
    <message>
        <source>NG</source>
        <translation>NIO</translation>
    </message>
    <message>
        <source>ERROR</source>
        <translation>FEHLER</translation>
    </message>
</context>
</TS>
