// Package i18n holds Corridor's user-facing texts and picks the language to
// show them in.
//
// The texts live in locales/active.<tag>.toml (English is the source) and are
// embedded in the binary. They are written for people who may be in distress:
// plain words, short sentences, no idioms. Every language must have every
// English message with the same placeholders; the tests enforce this.
//
// Rules this package must keep:
//
//   - Never panic on a missing message. T falls back to English, and to the
//     message id if English lacks it too. Never use go-i18n's MustLocalize.
//   - Never guess a language with low confidence. Match accepts only matches
//     of confidence language.High or better (so Persian, Dari, Sorani Kurdish
//     or Urdu are never shown Arabic); otherwise the caller shows the language
//     menu or the default. go-i18n's own matching ignores confidence and must
//     not be used to choose a language.
//   - Never hold user content. A Catalog holds only our own texts. Data passed
//     to T is used for one call and not kept; do not pass testimony text,
//     names, numbers or other personal data to it, and do not log what T
//     returns together with such data.
package i18n
