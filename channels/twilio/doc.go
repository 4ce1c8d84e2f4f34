// Package twilio is the SMS, MMS and WhatsApp channel: POST /channels/twilio
// (Twilio's messaging webhook) and POST /channels/twilio/status (delivery
// callbacks), plus outbound REST sends through Twilio's 2010 API.
//
// It checks X-Twilio-Signature against CORRIDOR_PUBLIC_URL + path over the
// parsed form (refusing repeated keys), turns the request into an
// intake.Inbound, fetches media only from the Twilio API host, hands the
// message to the conversation runner and renders its reply as TwiML built
// to fit a phone.
//
// This package parses and renders; intake acts. It must never store or log
// a phone number, a message body, FromCity/FromState/FromZip/FromCountry,
// or media; never fetch a URL outside the Twilio API host; never answer 5xx
// after a commit, nor 2xx before one.
package twilio
