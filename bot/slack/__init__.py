"""Laurels on Slack (slack-bolt, async): Socket Mode or HTTP, any number of workspaces.

app.py          start_slack(): the Bolt app, Socket Mode handler or HTTP server
adapter.py      the core the listeners call: members, commands, forms, votes, App Home
interactions.py slash commands, buttons, submitted forms (Bolt listeners)
events.py       reaction votes, App Home opened (Bolt listeners)
dedupe.py       middleware: retried/duplicated events are handled once
platform.py     announcements for the delivery worker; rate limits
replies.py      a command's answer back to where it came from
render.py       neutral cards as Block Kit;  home.py the Home tab;  modals.py the forms
identity.py     users.info / user groups -> MemberRef (names, admins, moderators)
slash.py        slash commands from the command tree;  text.py Slack text in and out
payloads.py     TypedDicts of the payload fields read here
manifest.py     the app manifest (manifest.yml is its output)
"""
