"""Laurels on Discord (discord.py 2.x): slash commands, reaction votes, announcements.

app.py        start_discord(): the client, endpoints, command sync, running until stop
adapter.py    the core the client's events call: members, commands, buttons, votes, guilds
slash.py      application commands generated from the command tree; reading their options
render.py     neutral cards as embeds and buttons
forms.py      a form (modal) for a button whose command needs more, e.g. an entry's title
identity.py   a Discord member as a MemberRef (admins, the moderator role)
platform.py   announcements for the delivery worker; HTTP errors as DeliveryError
dedupe.py     interactions seen again after a resume are handled once
invite.py     the OAuth2 invite URL: scopes, permissions
payloads.py   TypedDicts of the raw payload fields read here
"""
