// The console's UI strings in Simplified Chinese and English (the customer page has its own).
// A string may be a function of its arguments; every result is set as text, never as HTML.

const zh = {
  skip: "跳到主要内容", brand: "青岛城市银行 · 知识库员工控制台", sign_out: "退出登录", sign_in: "登录",
  login_title: "员工登录", login_name: "用户名", login_password: "密码",
  login_missing: "请输入用户名和密码。", login_failed: "用户名或密码不正确。",
  login_throttled: "登录失败次数过多，请稍后再试；账户被锁定时，可请管理员重置密码解锁。", session_expired: "登录已过期，请重新登录。",
  nav_label: "控制台", nav_entries: "知识条目", nav_review: "审核队列", nav_transfer: "导入 / 导出",
  nav_test: "测试提问", nav_gaps: "知识缺口", nav_audit: "审计日志",
  new_entry: "新建条目", f_search: "搜索", f_status: "状态", f_tag: "标签", f_lang: "语言", any: "全部",
  lang_has_zh: "有中文", lang_has_en: "有英文", lang_no_zh: "缺中文", lang_no_en: "缺英文",
  lang_zh: "中文", lang_en: "英文 English", apply: "筛选", refresh: "刷新", reload: "重新载入", back: "返回列表", loading: "正在加载…",
  st_draft: "草稿", st_pending: "待审核", st_approved: "已批准", st_rejected: "已驳回", st_deleted: "已删除",
  st_superseded: "已被取代",
  k_create: "新建", k_edit: "修改", k_delete: "删除", k_rollback: "回滚",
  r_viewer: "查看员", r_editor: "编辑", r_reviewer: "审核员", r_admin: "管理员",
  entries_count: (n) => `共 ${n} 条`, entries_caption: "知识条目（最新版本）",
  col_id: "条目 ID", col_q_zh: "标准问法（中文）", col_q_en: "标准问法（英文）", col_status: "状态",
  col_head: "最新版本", col_served: "在用版本", col_tags: "标签", col_updated: "更新时间", col_actions: "操作",
  col_version: "版本", col_kind: "类型", col_state: "状态", col_author: "作者", col_time: "时间",
  col_reviewer: "审核人", col_comment: "审核意见", col_rank: "名次", col_score: "得分", col_confidence: "置信度",
  col_matched: "匹配的问法", col_would_answer: "会直接回答", col_question: "问题", col_asked: "次数",
  col_handoffs: "转人工", col_low: "低置信度", col_not_helpful: "没有帮助", col_helpful: "有帮助",
  col_clarified: "追问", col_offered: "追问时列出的条目", col_best_guess: "最接近的条目", col_last_seen: "最近一次", col_seq: "序号", col_actor: "操作人",
  col_action: "动作", col_subject: "对象", col_details: "详情", col_hash: "哈希",
  edit: "编辑", view: "查看", yes: "是", no: "否", show: "展开", nothing: "（无）", nothing_yet: "暂无数据。",
  e_id: "条目 ID", e_id_hint: "小写字母、数字和连字符", e_tags: "标签", e_tags_hint: "用逗号分隔",
  e_questions: "示例问题（每行一个，第一个为标准问法）", e_answer: "回答", e_disclosure: "必读提示（可留空）",
  save_draft: "保存草稿", save_submit: "保存并提交审核", submit_draft: "提交审核", request_delete: "申请删除",
  new_entry_help: "新条目保存后需另一位审核员批准才会对客户生效。",
  entry_title: (id) => `条目：${id}`,
  status_line: (head, served, author, time) =>
    `最新版本 v${head}${served ? `，客户当前听到 v${served}` : "，尚未对客户提供"}；最后修改：${author}，${time}`,
  saved_draft: (v) => `已保存为草稿（v${v}）。`, saved_pending: (v) => `v${v} 已提交审核。`,
  delete_requested: (v) => `删除申请 v${v} 已提交审核。`,
  stale_hint: "其他人刚修改了这个条目，请重新打开后再改。",
  history: "版本历史", history_caption: "所有版本（★ 为客户当前听到的版本）",
  compare_from: "比较：从", compare_to: "到", show_diff: "显示差异",
  diff_between: (a, b) => `${a} → ${b} 的差异`,
  rollback_to: (v) => `回滚到 v${v}`, rolled_back: (to, v) => `已提出回滚到 v${to}（新版本 v${v}，待审核）。`,
  review_help: "待审核的修改与客户当前听到的版本逐项对比。不能审批自己的修改。",
  drafts_title: "未提交的草稿", queue_empty: "没有待审核的修改。", no_drafts: "没有草稿。",
  change_meta: (author, time, base) => `作者 ${author}，${time}，基于 v${base}`,
  delete_banner: "申请删除：批准后客户将不再听到这个条目。",
  rollback_banner: (v) => `回滚：恢复 v${v} 的内容。`,
  diff_vs_served: (v, s) => `v${v} 与在用版本 v${s} 的对比`, diff_vs_nothing: (v) => `v${v}（新条目，尚无在用版本）`,
  needs_reviewer: "需要审核员或管理员角色。", own_change: "这是您自己的修改，必须由另一位审核员决定。",
  review_comment: "审核意见（驳回时必填）", approve: "批准", reject: "驳回",
  reject_needs_comment: "驳回时请写明需要修改什么。",
  approved_msg: (id, v) => `已批准 ${id} v${v}，客户现在听到新版本。`, rejected_msg: (id, v) => `已驳回 ${id} v${v}。`,
  import_title: "导入（JSONL 或 CSV）",
  import_help: "先检查全部行；任何一行有错则什么都不写入。导入的条目成为待审核的修改。",
  import_file: "文件", import_format: "格式", format_auto: "按文件名判断",
  import_approve: "立即发布（仅管理员，记入审计）", import_go: "导入", import_pick: "请选择一个文件。",
  importing: "正在导入…",
  import_done: (c, u, s, approved) => `导入完成：新建 ${c} 条，更新 ${u} 条，未变 ${s} 条${approved ? "（已发布）" : "（待审核）"}。`,
  import_failed: (n) => `导入失败，没有写入任何内容。${n} 处错误：`,
  row_error: (line, id, field, reason) => `第 ${line} 行${id ? `（${id}）` : ""}：字段 ${field}：${reason}`,
  export_title: "导出已发布的条目", export_done: (f, n) => `已下载 ${f}${n == null ? "" : `（${n} 条）`}。`,
  test_question: "问题", test_k: "候选数", test_go: "测试", test_caption: "候选条目",
  test_summary: (q, th) => `检索文本：${q}；直接回答的阈值：${th}`,
  operating_point: (a, w, target, n, c) => `自动校准（本知识库 ${n} 个示例问题留出测试）：在此阈值下回答 ${a}，其中预计答错 ${w}（目标 ${target}）${c == null ? "" : `；另有 ${c} 会先反问客户想问哪一项`}。`,
  operating_point_offline: "评分参数为离线拟合（默认参数或配置中的 [scoring]），未自动校准。",
  test_handoff: "没有候选达到阈值：柜员会转接人工。", test_this: "测试这个问题",
  gaps_threshold: "置信度阈值", gaps_since: "起始日期",
  gaps_questions: "转人工、低置信度、需要追问或被标为没有帮助的问题", gaps_entries: "各条目收到的客户反馈",
  audit_actor: "操作人", audit_action: "动作（以 . 结尾为前缀）", audit_subject: "对象", audit_newest: "最新在前",
  audit_verify: "校验哈希链", audit_caption: (n) => `审计记录（${n} 条）`,
  chain_ok: (n, h) => `哈希链完好：${n} 条记录，链头 ${h}`,
  chain_broken: (seq, reason) => `哈希链在第 ${seq} 条记录处断开：${reason}`,
  f_questions: "示例问题", f_answer: "回答", f_disclosure: "必读提示", f_tags: "标签",
  diff_unchanged: (n) => `其余 ${n} 项未改变。`, diff_none: "内容没有变化。", diff_removed: "删除", diff_added: "新增",
};

const en = {
  skip: "Skip to main content", brand: "Qingdao City Bank · Knowledge base staff console", sign_out: "Sign out",
  sign_in: "Sign in", login_title: "Staff sign-in", login_name: "User name", login_password: "Password",
  login_missing: "Enter your user name and password.", login_failed: "Wrong user name or password.",
  login_throttled: "Too many failed sign-ins; try again later. A locked account is unlocked at once when an admin resets its password.", session_expired: "Your session has expired; sign in again.",
  nav_label: "Console", nav_entries: "Entries", nav_review: "Review queue", nav_transfer: "Import / export",
  nav_test: "Test a question", nav_gaps: "Knowledge gaps", nav_audit: "Audit log",
  new_entry: "New entry", f_search: "Search", f_status: "Status", f_tag: "Tag", f_lang: "Language", any: "All",
  lang_has_zh: "Has Chinese", lang_has_en: "Has English", lang_no_zh: "Missing Chinese", lang_no_en: "Missing English",
  lang_zh: "Chinese 中文", lang_en: "English", apply: "Filter", refresh: "Refresh", reload: "Reload", back: "Back to the list",
  loading: "Loading…",
  st_draft: "Draft", st_pending: "Pending review", st_approved: "Approved", st_rejected: "Rejected",
  st_deleted: "Deleted", st_superseded: "Superseded",
  k_create: "create", k_edit: "edit", k_delete: "delete", k_rollback: "rollback",
  r_viewer: "viewer", r_editor: "editor", r_reviewer: "reviewer", r_admin: "admin",
  entries_count: (n) => `${n} entries`, entries_caption: "Knowledge entries (newest version)",
  col_id: "Entry id", col_q_zh: "Canonical question (Chinese)", col_q_en: "Canonical question (English)",
  col_status: "Status", col_head: "Newest", col_served: "Served", col_tags: "Tags", col_updated: "Updated",
  col_actions: "Actions", col_version: "Version", col_kind: "Kind", col_state: "State", col_author: "Author",
  col_time: "Time", col_reviewer: "Reviewer", col_comment: "Review comment", col_rank: "Rank", col_score: "Score",
  col_confidence: "Confidence", col_matched: "Matched question", col_would_answer: "Would answer",
  col_question: "Question", col_asked: "Asked", col_handoffs: "Hand-offs", col_low: "Low confidence",
  col_not_helpful: "Not helpful", col_helpful: "Helpful", col_clarified: "Clarified", col_offered: "Entries offered when clarifying", col_best_guess: "Closest entries",
  col_last_seen: "Last seen", col_seq: "Seq", col_actor: "Actor", col_action: "Action", col_subject: "Subject",
  col_details: "Details", col_hash: "Hash",
  edit: "Edit", view: "View", yes: "yes", no: "no", show: "Show", nothing: "(nothing)", nothing_yet: "Nothing yet.",
  e_id: "Entry id", e_id_hint: "lower-case letters, digits and hyphens", e_tags: "Tags",
  e_tags_hint: "separated by commas", e_questions: "Example questions (one a line; the first is canonical)",
  e_answer: "Answer", e_disclosure: "Mandatory disclosure (may be empty)",
  save_draft: "Save draft", save_submit: "Save and submit for review", submit_draft: "Submit for review",
  request_delete: "Request deletion",
  new_entry_help: "A new entry reaches customers only after another reviewer approves it.",
  entry_title: (id) => `Entry: ${id}`,
  status_line: (head, served, author, time) =>
    `newest v${head}${served ? `, customers hear v${served}` : ", not served yet"}; last change by ${author}, ${time}`,
  saved_draft: (v) => `Saved as a draft (v${v}).`, saved_pending: (v) => `v${v} submitted for review.`,
  delete_requested: (v) => `Deletion request v${v} submitted for review.`,
  stale_hint: "someone else changed this entry meanwhile; open it again and re-apply your change.",
  history: "Version history", history_caption: "Every version (★ is what customers hear)",
  compare_from: "Compare from", compare_to: "to", show_diff: "Show differences",
  diff_between: (a, b) => `Differences ${a} → ${b}`,
  rollback_to: (v) => `Roll back to v${v}`,
  rolled_back: (to, v) => `Rollback to v${to} proposed (new version v${v}, pending review).`,
  review_help: "Each pending change beside the version customers hear now. You cannot approve your own change.",
  drafts_title: "Drafts not yet submitted", queue_empty: "No changes are waiting for review.", no_drafts: "No drafts.",
  change_meta: (author, time, base) => `by ${author}, ${time}, made on v${base}`,
  delete_banner: "Deletion requested: once approved, customers no longer hear this entry.",
  rollback_banner: (v) => `Rollback: restores the content of v${v}.`,
  diff_vs_served: (v, s) => `v${v} compared with the served v${s}`,
  diff_vs_nothing: (v) => `v${v} (a new entry; nothing served yet)`,
  needs_reviewer: "Needs the reviewer or admin role.",
  own_change: "You wrote this change; another reviewer must decide.",
  review_comment: "Review comment (required to reject)", approve: "Approve", reject: "Reject",
  reject_needs_comment: "Say what to change when you reject.",
  approved_msg: (id, v) => `Approved ${id} v${v}; customers now hear it.`, rejected_msg: (id, v) => `Rejected ${id} v${v}.`,
  import_title: "Import (JSONL or CSV)",
  import_help: "Every row is checked first; if any row is wrong nothing is written. Imported entries become changes to review.",
  import_file: "File", import_format: "Format", format_auto: "From the file name",
  import_approve: "Publish at once (admin only, audited)", import_go: "Import", import_pick: "Choose a file.",
  importing: "Importing…",
  import_done: (c, u, s, approved) => `Imported: ${c} created, ${u} updated, ${s} unchanged${approved ? " (published)" : " (pending review)"}.`,
  import_failed: (n) => `Import failed; nothing was written. ${n} error(s):`,
  row_error: (line, id, field, reason) => `line ${line}${id ? ` (${id})` : ""}: field ${field}: ${reason}`,
  export_title: "Export the served entries", export_done: (f, n) => `${f} downloaded${n == null ? "" : ` (${n} entries)`}.`,
  test_question: "Question", test_k: "Candidates", test_go: "Test", test_caption: "Candidate entries",
  test_summary: (q, th) => `searched as: ${q}; threshold to answer: ${th}`,
  operating_point: (a, w, target, n, c) => `Self-calibrated on ${n} held-out example questions of this knowledge base: at this threshold ${a} are answered, ${w} of those expected wrong (target ${target})${c == null ? "" : `; ${c} more get a clarifying question`}.`,
  operating_point_offline: "Scoring fitted offline (the defaults, or [scoring] in the settings): not self-calibrated.",
  test_handoff: "No candidate reaches the threshold: the teller would hand off.", test_this: "Test this question",
  gaps_threshold: "Confidence threshold", gaps_since: "Since",
  gaps_questions: "Questions handed off, answered with low confidence, clarified, or marked not helpful",
  gaps_entries: "Customer feedback per entry",
  audit_actor: "Actor", audit_action: "Action (ending in . for a prefix)", audit_subject: "Subject",
  audit_newest: "Newest first", audit_verify: "Verify the hash chain", audit_caption: (n) => `Audit records (${n})`,
  chain_ok: (n, h) => `Chain intact: ${n} records, head ${h}`,
  chain_broken: (seq, reason) => `Chain broken at record ${seq}: ${reason}`,
  f_questions: "Example questions", f_answer: "Answer", f_disclosure: "Disclosure", f_tags: "Tags",
  diff_unchanged: (n) => `${n} other fields unchanged.`, diff_none: "No change in content.",
  diff_removed: "removed", diff_added: "added",
};

export const STRINGS = { zh, en };
export const HTML_LANG = { zh: "zh-CN", en: "en" };

export function t(lang, key, ...args) {
  const value = (STRINGS[lang] || en)[key] ?? en[key];
  if (value === undefined) return key;
  return typeof value === "function" ? value(...args) : value;
}

export const statusName = (lang, s) => t(lang, `st_${s}`);
export const kindName = (lang, k) => t(lang, `k_${k}`);
export const roleName = (lang, r) => t(lang, `r_${r}`);

export function diffLabels(lang) {
  const langName = { zh: t(lang, "lang_zh"), en: t(lang, "lang_en") };
  return {
    field: (name, code) => t(lang, `f_${name}`) + (code ? ` · ${langName[code]}` : ""),
    unchanged: (n) => t(lang, "diff_unchanged", n),
    none: t(lang, "diff_none"),
    removed: t(lang, "diff_removed"),
    added: t(lang, "diff_added"),
  };
}

/** Apply the UI language to every element marked data-i18n / data-i18n-aria. */
export function applyStrings(lang, root = document) {
  document.documentElement.lang = HTML_LANG[lang];
  document.title = lang === "zh" ? "员工控制台 · Staff console" : "Staff console · 员工控制台";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(lang, node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", t(lang, node.dataset.i18nAria));
}
