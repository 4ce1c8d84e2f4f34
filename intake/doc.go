// Package intake is Corridor's core: the domain types (Inbound, Report,
// Answer, Desk, Flow, Step), the flow definition, routing to desks,
// auto-redaction, and the Service that seals every answer before it is
// committed through a Store.
//
// Channels turn a provider's request into an Inbound or a Submission and
// render the reply; intake acts. intake imports no channel and no storage
// driver: intake/sqlite implements Store.
//
// intake must never write, log or return in an error anything a sender
// wrote, and never a phone number, chat id or name: only ciphertext, keyed
// hashes and coarse routing metadata (channel, language, desk, topic, state,
// day) leave it.
package intake
