//! The entity types the PII detector recognizes.

use serde::{Deserialize, Serialize};

/// A kind of personal data, with its finding id (`pii.<name>`) and placeholder (`<EMAIL_1>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// Email address (RFC 5321 shape, IDN domains).
    Email,
    /// Payment card number (Luhn, brand prefix and length, separators).
    CreditCard,
    /// US Social Security number (area/group/serial rules).
    UsSsn,
    /// Canadian Social Insurance Number (Luhn).
    CaSin,
    /// International Bank Account Number (country length, mod 97).
    Iban,
    /// SWIFT/BIC code (next to a word that names it).
    SwiftBic,
    /// Phone number: NANP and international (`+`), with separators and extensions.
    Phone,
    /// IPv4 or IPv6 address.
    IpAddress,
    /// MAC address.
    MacAddress,
    /// The password in a URL's userinfo (`https://user:PASSWORD@host`).
    UrlCredentials,
    /// Bitcoin (base58check, bech32) or Ethereum address.
    CryptoWallet,
    /// A date next to a birth word (`born`, `DOB`, `date of birth`).
    DateOfBirth,
    /// A passport number next to the word `passport`.
    Passport,
    /// A driver's licence number next to a word that names it.
    DriversLicense,
    /// UK NHS number (mod 11) next to `NHS`.
    UkNhs,
    /// UK National Insurance number (prefix rules).
    UkNino,
    /// A person's name: a known given name and surname, or a known name after a word that
    /// introduces a person (`my name is`, `Dear`, `Mr.`, `Name:`).
    Person,
    /// A web address (`https://…`, `www.…`): personal when it names someone's site or
    /// profile. Off unless listed in `pii.entities`.
    Url,
    /// A national or tax identifier with a check digit (Chilean RUT, Turkish T.C. Kimlik,
    /// Norwegian fødselsnummer, ...), from the [`NationalIds`](super::NationalIds) table, after
    /// a word that names it.
    NationalId,
    /// A country, state or province, or city (GeoNames list): reported as personal after a
    /// phrase that places someone (`I live in`, `born in`, `address:`), after `in`/`from`, or
    /// as `City, Region`; a bare country or big city is only noted (score 0.4).
    Location,
}

impl Entity {
    /// How many there are.
    pub const COUNT: usize = 20;

    /// All of them.
    pub const ALL: [Entity; Entity::COUNT] = [
        Entity::Email,
        Entity::CreditCard,
        Entity::UsSsn,
        Entity::CaSin,
        Entity::Iban,
        Entity::SwiftBic,
        Entity::Phone,
        Entity::IpAddress,
        Entity::MacAddress,
        Entity::UrlCredentials,
        Entity::CryptoWallet,
        Entity::DateOfBirth,
        Entity::Passport,
        Entity::DriversLicense,
        Entity::UkNhs,
        Entity::UkNino,
        Entity::Person,
        Entity::Url,
        Entity::NationalId,
        Entity::Location,
    ];

    /// The configuration name (`email`, `credit_card`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Entity::Email => "email",
            Entity::CreditCard => "credit_card",
            Entity::UsSsn => "us_ssn",
            Entity::CaSin => "ca_sin",
            Entity::Iban => "iban",
            Entity::SwiftBic => "swift_bic",
            Entity::Phone => "phone",
            Entity::IpAddress => "ip_address",
            Entity::MacAddress => "mac_address",
            Entity::UrlCredentials => "url_credentials",
            Entity::CryptoWallet => "crypto_wallet",
            Entity::DateOfBirth => "date_of_birth",
            Entity::Passport => "passport",
            Entity::DriversLicense => "drivers_license",
            Entity::UkNhs => "uk_nhs",
            Entity::UkNino => "uk_nino",
            Entity::Person => "person",
            Entity::Url => "url",
            Entity::NationalId => "national_id",
            Entity::Location => "location",
        }
    }

    /// The finding id (`pii.email`).
    pub fn id(self) -> &'static str {
        match self {
            Entity::Email => "pii.email",
            Entity::CreditCard => "pii.credit_card",
            Entity::UsSsn => "pii.us_ssn",
            Entity::CaSin => "pii.ca_sin",
            Entity::Iban => "pii.iban",
            Entity::SwiftBic => "pii.swift_bic",
            Entity::Phone => "pii.phone",
            Entity::IpAddress => "pii.ip_address",
            Entity::MacAddress => "pii.mac_address",
            Entity::UrlCredentials => "pii.url_credentials",
            Entity::CryptoWallet => "pii.crypto_wallet",
            Entity::DateOfBirth => "pii.date_of_birth",
            Entity::Passport => "pii.passport",
            Entity::DriversLicense => "pii.drivers_license",
            Entity::UkNhs => "pii.uk_nhs",
            Entity::UkNino => "pii.uk_nino",
            Entity::Person => "pii.person",
            Entity::Url => "pii.url",
            Entity::NationalId => "pii.national_id",
            Entity::Location => "pii.location",
        }
    }

    /// The placeholder tag (`EMAIL` in `<EMAIL_1>`).
    pub fn tag(self) -> &'static str {
        match self {
            Entity::Email => "EMAIL",
            Entity::CreditCard => "CREDIT_CARD",
            Entity::UsSsn => "US_SSN",
            Entity::CaSin => "CA_SIN",
            Entity::Iban => "IBAN",
            Entity::SwiftBic => "SWIFT_BIC",
            Entity::Phone => "PHONE",
            Entity::IpAddress => "IP_ADDRESS",
            Entity::MacAddress => "MAC_ADDRESS",
            Entity::UrlCredentials => "URL_CREDENTIALS",
            Entity::CryptoWallet => "CRYPTO_WALLET",
            Entity::DateOfBirth => "DATE_OF_BIRTH",
            Entity::Passport => "PASSPORT",
            Entity::DriversLicense => "DRIVERS_LICENSE",
            Entity::UkNhs => "UK_NHS",
            Entity::UkNino => "UK_NINO",
            Entity::Person => "PERSON",
            Entity::Url => "URL",
            Entity::NationalId => "NATIONAL_ID",
            Entity::Location => "LOCATION",
        }
    }

    /// Parses a configuration name.
    pub fn parse(name: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Lowercase words that, shortly before a value, raise its score (or are required).
    pub fn context_words(self) -> &'static [&'static str] {
        match self {
            Entity::Email => &["email", "e-mail", "mail", "courriel"],
            Entity::CreditCard => &[
                "card",
                "visa",
                "mastercard",
                "amex",
                "credit",
                "debit",
                "cc",
                "carte",
                "card no",
                "card #",
            ],
            Entity::UsSsn => &["ssn", "social security", "ss#", "ss #"],
            Entity::CaSin => &[
                "sin",
                "social insurance",
                "nas",
                "numéro d'assurance sociale",
                "assurance sociale",
            ],
            Entity::Iban => &["iban", "account", "bank"],
            Entity::SwiftBic => &["swift", "bic", "swift/bic", "swift code", "bic code"],
            Entity::Phone => &[
                "phone",
                "tel",
                "telephone",
                "mobile",
                "cell",
                "call",
                "fax",
                "contact",
                "whatsapp",
                "sms",
                "text me",
                "téléphone",
                "cellulaire",
                "reach",
                "dial",
                "answering",
                "messages",
                "message",
                "registered",
                "number",
                "office",
                "landline",
                "tél",
            ],
            Entity::IpAddress => &["ip", "ip address", "address", "host", "server"],
            Entity::MacAddress => &["mac"],
            Entity::UrlCredentials => &[],
            Entity::CryptoWallet => &[
                "wallet", "btc", "bitcoin", "eth", "ethereum", "address", "send",
            ],
            Entity::DateOfBirth => &[
                "born",
                "dob",
                "d.o.b",
                "date of birth",
                "birth date",
                "birthdate",
                "birthday",
                "né le",
                "née le",
                "date de naissance",
            ],
            Entity::Passport => &["passport", "passport number", "passport no", "passeport"],
            Entity::DriversLicense => &[
                "driver's license",
                "drivers license",
                "driver license",
                "driver's licence",
                "driving licence",
                "driving license",
                "licence number",
                "license number",
                "dl#",
                "dl no",
                "permis de conduire",
            ],
            Entity::UkNhs => &["nhs", "nhs number", "nhs no"],
            Entity::UkNino => &["national insurance", "nino", "ni number", "ni no"],
            Entity::Person => &[],
            Entity::Url => &[],
            Entity::NationalId => &[],
            Entity::Location => &[],
        }
    }
}
