//! The pages' words and dates in each language (the choice of language is
//! `akashi_model::Lang::negotiate`, shared by every service).

pub use akashi_model::Lang;

/// What a page needs of its language: its words and its way of writing dates.
pub trait PageLanguage {
    /// The words of the pages in this language.
    fn texts(self) -> &'static Texts;
    /// A date as people of this language write it: `2026年12月7日`,
    /// `7 December 2026` — the day it was in `zone` (the issuer's time
    /// zone: a badge issued at 08:00 in Tokyo is not dated the day before).
    fn long_date(self, at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String;
}

/// Every fixed word on the pages.
pub struct Texts {
    pub issued_by: &'static str,
    pub issued_on: &'static str,
    pub expires: &'static str,
    pub criteria: &'static str,
    pub status: &'static str,
    pub valid: &'static str,
    pub revoked: &'static str,
    pub expired: &'static str,
    pub invalid: &'static str,
    pub unknown: &'static str,
    pub revocation_reason: &'static str,
    pub checks: &'static str,
    pub verify_again: &'static str,
    pub report_json: &'static str,
    pub assertion_json: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub other_language: &'static str,
    pub verifier_unreachable: &'static str,
    pub verify_title: &'static str,
    pub verify_intro: &'static str,
    pub verify_url: &'static str,
    pub verify_image: &'static str,
    pub verify_recipient: &'static str,
    pub verify_button: &'static str,
    pub verify_nothing: &'static str,
    pub download_png: &'static str,
    pub download_svg: &'static str,
    pub add_to_linkedin: &'static str,
    pub certificate: &'static str,
    pub embed: &'static str,
    pub blockcerts_title: &'static str,
    pub blockcerts_verified_on: &'static str,
    pub blockcerts_not_verified: &'static str,
    pub blockcerts_anchored_at: &'static str,
    pub blockcerts_transaction: &'static str,
    pub blockcerts_batch: &'static str,
    pub blockcerts_download: &'static str,
    pub blockcerts_test_chain: &'static str,
    /// "{earner} earned this badge from {issuer}": the parts around the names.
    pub earned_by: &'static str,
    pub earned_from: &'static str,
    pub earned_on: &'static str,
    pub technical_details: &'static str,
    pub copy_link: &'static str,
    pub link_copied: &'static str,
    pub share: &'static str,
    pub download: &'static str,
    pub badge_image_alt: &'static str,
    pub about: &'static str,
    pub og_locale: &'static str,
    pub og_locale_other: &'static str,
}

impl PageLanguage for Lang {
    fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }

    fn long_date(self, at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
        use chrono::Datelike;
        let at = at.with_timezone(&zone);
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        match self {
            Lang::Ja => format!("{}年{}月{}日", at.year(), at.month(), at.day()),
            Lang::En => format!("{} {} {}", at.day(), MONTHS[at.month0() as usize], at.year()),
        }
    }
}

static EN: Texts = Texts {
    issued_by: "Issued by",
    issued_on: "Issued on",
    expires: "Expires",
    criteria: "Criteria",
    status: "Status",
    valid: "Verified: this badge is valid",
    revoked: "Revoked",
    expired: "Expired",
    invalid: "Not valid",
    unknown: "Could not be verified right now",
    revocation_reason: "Reason",
    checks: "What was checked",
    verify_again: "Verify again",
    report_json: "Verification report (JSON)",
    assertion_json: "Badge data (Open Badges 2.0 JSON)",
    not_found_title: "Badge not found",
    not_found_body: "There is no badge at this address.",
    other_language: "日本語",
    verifier_unreachable: "The verification service did not answer.",
    verify_title: "Verify a badge",
    verify_intro: "Paste the link of a badge, or upload a badge image (PNG or SVG), to check it with its issuer.",
    verify_url: "Badge link",
    verify_image: "or badge image",
    verify_recipient: "Expected recipient e-mail (optional)",
    verify_button: "Verify",
    verify_nothing: "Give a link or an image.",
    download_png: "Download the badge image (PNG)",
    download_svg: "Download the badge image (SVG)",
    add_to_linkedin: "Add to LinkedIn profile",
    certificate: "Printable certificate (PDF)",
    embed: "Embed this badge on your site",
    blockcerts_title: "Blockchain record (Blockcerts)",
    blockcerts_verified_on: "Verified on",
    blockcerts_not_verified: "The Blockcerts certificate could not be verified",
    blockcerts_anchored_at: "Anchored",
    blockcerts_transaction: "Transaction",
    blockcerts_batch: "Certificates in the batch",
    blockcerts_download: "Download the Blockcerts certificate (JSON)",
    blockcerts_test_chain: "a test chain: nothing is recorded on a public blockchain",
    earned_by: "Earned by",
    earned_from: "from",
    earned_on: "on",
    technical_details: "Technical details of the verification",
    copy_link: "Copy link",
    link_copied: "Link copied",
    share: "Share",
    download: "Download image",
    badge_image_alt: "Badge image",
    about: "About this badge",
    og_locale: "en_US",
    og_locale_other: "ja_JP",
};

static JA: Texts = Texts {
    issued_by: "発行者",
    issued_on: "発行日",
    expires: "有効期限",
    criteria: "取得条件",
    status: "状態",
    valid: "検証済み：このバッジは有効です",
    revoked: "取り消し済み",
    expired: "有効期限切れ",
    invalid: "無効",
    unknown: "現在検証できません",
    revocation_reason: "理由",
    checks: "検証項目",
    verify_again: "再検証する",
    report_json: "検証レポート（JSON）",
    assertion_json: "バッジデータ（Open Badges 2.0 JSON）",
    not_found_title: "バッジが見つかりません",
    not_found_body: "このアドレスにバッジはありません。",
    other_language: "English",
    verifier_unreachable: "検証サービスが応答しませんでした。",
    verify_title: "バッジを検証する",
    verify_intro: "バッジのリンクを貼り付けるか、バッジ画像（PNG または SVG）をアップロードすると、発行者に照らして確認します。",
    verify_url: "バッジのリンク",
    verify_image: "またはバッジ画像",
    verify_recipient: "受領者のメールアドレス（任意）",
    verify_button: "検証する",
    verify_nothing: "リンクか画像を指定してください。",
    download_png: "バッジ画像をダウンロード（PNG）",
    download_svg: "バッジ画像をダウンロード（SVG）",
    add_to_linkedin: "LinkedIn のプロフィールに追加",
    certificate: "印刷用の修了証（PDF）",
    embed: "このバッジを自分のサイトに埋め込む",
    blockcerts_title: "ブロックチェーン記録（Blockcerts）",
    blockcerts_verified_on: "検証済み：",
    blockcerts_not_verified: "Blockcerts 証明書を検証できませんでした",
    blockcerts_anchored_at: "記録日時",
    blockcerts_transaction: "トランザクション",
    blockcerts_batch: "同じバッチの証明書数",
    blockcerts_download: "Blockcerts 証明書をダウンロード（JSON）",
    blockcerts_test_chain: "テスト用チェーンです。公開ブロックチェーンには記録されていません",
    earned_by: "取得者",
    earned_from: "発行",
    earned_on: "取得日",
    technical_details: "検証の詳細（技術情報）",
    copy_link: "リンクをコピー",
    link_copied: "コピーしました",
    share: "共有",
    download: "画像をダウンロード",
    badge_image_alt: "バッジ画像",
    about: "このバッジについて",
    og_locale: "ja_JP",
    og_locale_other: "en_US",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T13:57:29Z")
            .unwrap()
            .to_utc();
        assert_eq!(Lang::Ja.long_date(at, chrono_tz::UTC), "2026年12月7日");
        assert_eq!(Lang::En.long_date(at, chrono_tz::UTC), "7 December 2026");
        // 23:30 UTC is already the next morning in Tokyo, still the day in Honolulu.
        let late = chrono::DateTime::parse_from_rfc3339("2026-12-31T23:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(Lang::Ja.long_date(late, chrono_tz::Asia::Tokyo), "2027年1月1日");
        assert_eq!(
            Lang::En.long_date(late, chrono_tz::Pacific::Honolulu),
            "31 December 2026"
        );
    }
}
