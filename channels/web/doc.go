// Package web is the web-form channel: GET/POST /report, the one-page
// testimony form that community organisations run on intake kiosks.
//
// It renders the flow as one page that works with JavaScript off, in the
// visitor's language and direction; checks the cross-origin and per-form
// tokens; reads the multipart body into memory under fixed caps; and hands
// one intake.Submission to the intake service. The reply is a neutral
// confirmation with the receipt.
//
// This package parses and renders; intake acts. It must never touch
// storage, never write a request body or an upload to disk (no temp files:
// multipart parts are read into memory under caps), never log what a
// visitor wrote, never load an asset from another origin, and never put
// testimony or a receipt in a URL.
package web
