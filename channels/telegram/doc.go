// Package telegram is the Telegram bot channel, in two modes: a webhook at
// POST /channels/telegram for a server with a public URL, and long polling
// for a kiosk laptop behind NAT. It turns an update into an intake.Inbound,
// hands it to the conversation runner, and sends the reply with inline
// keyboards through the Bot API (github.com/go-telegram/bot).
//
// Our own handler sits in front of the library: a constant-time check of
// X-Telegram-Bot-Api-Secret-Token (401 on mismatch, before any parsing), a
// bounded body, our own update decoder, and the HTTP answer only after the
// commit. An update we cannot handle is sealed into quarantine and answered
// 200, so it cannot block the chat.
//
// This package parses and renders; intake acts. It must never store or log
// a chat id, a username, a name or a message; never log the bot token (the
// library's errors carry it in URLs, so they are never logged as they are);
// never fetch a file outside the Bot API host; never write first, and never
// edit an old message to show content.
package telegram
