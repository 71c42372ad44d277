// UI strings in Simplified Chinese and English. Every string is set with textContent (or as an
// attribute value), never as HTML.

export const STRINGS = {
  zh: {
    skip: "跳到提问框",
    brand: "青岛城市银行 · 数字柜员",
    stage_title: "数字柜员",
    conv_title: "对话",
    conn_connecting: "正在连接…",
    conn_open: "已连接",
    conn_retry: "连接已断开，正在重新连接…",
    conn_paused: "连接已休眠，提问时自动恢复",
    conn_refused: "服务器拒绝了连接：",
    avatar_label: "数字柜员。说话时点按可打断。",
    tap_hint: "说话时点按柜员可打断",
    handoff: "正在为您转接人工柜员…",
    captions: "字幕",
    you_said: "您的问题",
    answer: "回答",
    source: "来源",
    source_none: "无（系统回复）",
    feedback_group: "这个回答有帮助吗？",
    feedback_q: "这个回答有帮助吗？",
    helpful: "有帮助",
    not_helpful: "没有帮助",
    fb_thanks: "谢谢您的反馈！",
    fb_failed: "暂时无法记录反馈。",
    related: "您可能还想问",
    clarify: "请选择您想问的",
    type_label: "输入您的问题",
    type_placeholder: "例如：银行卡丢了怎么办？",
    send: "发送",
    voice: "语音",
    mic_on: "开启麦克风",
    mic_off: "关闭麦克风",
    mode: "说话方式",
    mode_free: "免提",
    mode_ptt: "按住说话",
    ptt_hold: "按住说话",
    ptt_release: "松开结束",
    level: "音量",
    mic_off_note: "麦克风未开启：可以直接输入问题。",
    mic_listening: "正在聆听，请直接说话。",
    mic_ptt: "按住按钮（或空格键）说话，松开结束。",
    mic_denied: "无法使用麦克风：",
    listening: "（正在听…）",
    error: "出错了：",
    busy: "服务器繁忙，请稍后再试。",
    footer: "回答仅来自本行已审核的知识库；不确定时将转接人工柜员。",
  },
  en: {
    skip: "Skip to the question box",
    brand: "Qingdao City Bank · Digital Teller",
    stage_title: "Digital teller",
    conv_title: "Conversation",
    conn_connecting: "Connecting…",
    conn_open: "Connected",
    conn_retry: "Connection lost, reconnecting…",
    conn_paused: "Connection asleep; it wakes when you ask",
    conn_refused: "The server refused the connection: ",
    avatar_label: "Digital teller. Tap while it speaks to interrupt.",
    tap_hint: "Tap the teller while it speaks to interrupt",
    handoff: "Connecting you to a colleague…",
    captions: "Captions",
    you_said: "Your question",
    answer: "Answer",
    source: "Source",
    source_none: "none (system reply)",
    feedback_group: "Was this answer helpful?",
    feedback_q: "Was this answer helpful?",
    helpful: "Helpful",
    not_helpful: "Not helpful",
    fb_thanks: "Thank you for your feedback!",
    fb_failed: "Feedback could not be recorded right now.",
    related: "You might also ask",
    clarify: "Which one do you mean?",
    type_label: "Type your question",
    type_placeholder: "For example: I lost my bank card, what should I do?",
    send: "Send",
    voice: "Voice",
    mic_on: "Turn on microphone",
    mic_off: "Turn off microphone",
    mode: "How to talk",
    mode_free: "Hands-free",
    mode_ptt: "Push to talk",
    ptt_hold: "Hold to talk",
    ptt_release: "Release to send",
    level: "Level",
    mic_off_note: "Microphone is off: you can type your question.",
    mic_listening: "Listening — just speak.",
    mic_ptt: "Hold the button (or the space bar) while you speak, release to send.",
    mic_denied: "The microphone cannot be used: ",
    listening: "(listening…)",
    error: "Something went wrong: ",
    busy: "The server is busy, please try again.",
    footer: "Answers come only from the bank's approved knowledge base; when unsure, the teller hands you to a colleague.",
  },
};

export const HTML_LANG = { zh: "zh-CN", en: "en" };

export function t(lang, key) {
  return (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
}

/** Apply the UI language to every element marked with data-i18n / -aria / -placeholder. */
export function applyStrings(lang, root = document) {
  document.documentElement.lang = HTML_LANG[lang];
  document.title = lang === "zh" ? "数字柜员 · Digital Teller" : "Digital Teller · 数字柜员";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(lang, el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(lang, el.dataset.i18nAria));
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.setAttribute("placeholder", t(lang, el.dataset.i18nPlaceholder));
}
