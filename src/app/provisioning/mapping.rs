//! A mapping's page (its attribute list, Target Object Actions, source object scope link) and
//! the Edit attribute page with the expression tester.

use super::tester::ExpressionTester;
use super::*;

/// SCIM targets offered in the Edit attribute page's list (any valid path can be typed).
const TARGET_SUGGESTIONS: [&str; 24] = [
    "userName",
    "active",
    "displayName",
    "title",
    "emails[type eq \"work\"].value",
    "preferredLanguage",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "addresses[type eq \"work\"].formatted",
    "addresses[type eq \"work\"].streetAddress",
    "addresses[type eq \"work\"].locality",
    "addresses[type eq \"work\"].region",
    "addresses[type eq \"work\"].postalCode",
    "addresses[type eq \"work\"].country",
    "phoneNumbers[type eq \"work\"].value",
    "phoneNumbers[type eq \"mobile\"].value",
    "phoneNumbers[type eq \"fax\"].value",
    "externalId",
    "roles",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "members",
];

/// The source column of the attribute list: the attribute, the quoted constant or the expression.
fn source_text(a: &AttributeMapping) -> String {
    match a.kind {
        MappingKind::Constant => format!("\"{}\"", a.source),
        MappingKind::None => "—".into(),
        MappingKind::Direct | MappingKind::Expression => a.source.clone(),
    }
}

#[component]
pub fn MappingPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let object = route_param("object");
    let save = ServerAction::<SaveObjectMapping>::new();
    let delete = ServerAction::<DeleteAttribute>::new();
    let restore = ServerAction::<RestoreDefaultMappings>::new();
    let saved = Signal::derive(move || save.value().get());
    let deleted = Signal::derive(move || delete.value().get());
    let restored = Signal::derive(move || restore.value().get());
    let changes = [saved, deleted, restored].map(|v| successes(v, |_| true));
    let data = Resource::new(
        move || (ctx.id.get(), changes.iter().map(|c| c.get()).sum::<u32>()),
        |(id, _)| get_provisioning(id),
    );
    let admin = crate::app::use_session().is_admin();
    view! {
        <p><a href=move || format!("/apps/{}/provisioning", ctx.id.get())>"← Provisioning"</a></p>
        <Suspense fallback=|| view! { <h2>"Attribute Mapping"</h2> }>
            {move || Suspend::new(async move {
                let name = app_name(ctx).await;
                view! { <h2>{format!("Attribute Mapping: Synchronize {} to {}", object_label(&object.get_untracked()), name)}</h2> }
            })}
        </Suspense>
        <p class="alert alert-info">{INITIAL_CYCLE_NOTE}</p>
        <ActionError value=saved />
        <ActionError value=deleted />
        <ActionError value=restored />
        {string_message(saved)}
        {string_message(deleted)}
        {string_message(restored)}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let v = match data.await {
                    Err(e) => return view! { <ErrorText error=e /> }.into_any(),
                    Ok(v) => v,
                };
                let obj = object.get_untracked();
                let id = ctx.id.get_untracked();
                let Some(m) = v.config.mappings.iter().find(|m| m.object.as_str() == obj).cloned() else {
                    return view! { <p class="alert alert-error">"There is no such mapping."</p> }.into_any();
                };
                let is_user = obj == "user";
                let scope_text = if m.scoping_filters.is_empty() {
                    "All records".to_string()
                } else {
                    format!("{} scoping filter{}", m.scoping_filters.len(), if m.scoping_filters.len() == 1 { "" } else { "s" })
                };
                let rows = m.attributes.iter().map(|a| {
                    let edit = format!("/apps/{id}/provisioning/{obj}/attribute?target={}", urlencode(&a.target));
                    let (app_id, o, t) = (id.clone(), obj.clone(), a.target.clone());
                    view! {
                        <tr data-target=a.target.clone()>
                            <th scope="row" class="mono">{a.target.clone()}</th>
                            <td>{a.kind.label()}</td>
                            <td class="mono">{source_text(a)}</td>
                            <td class="mono">{a.default_value.clone()}</td>
                            <td>{(a.matching > 0).then(|| a.matching.to_string())}</td>
                            <td>{if a.apply_on == ApplyOn::Create { "Only during object creation" } else { "Always" }}</td>
                            <td class="row-actions">
                                <a href=edit>{if admin { "Edit" } else { "View" }}</a>
                                {admin.then(|| view! {
                                    <Confirm
                                        id=format!("delete-mapping-{}", crate::app::widgets::dom_id(&t))
                                        label="Delete"
                                        small=true
                                        title=format!("Delete the mapping of {t}")
                                        consequence="The application's attribute is no longer set by provisioning: what it holds now stays, and later changes in the directory do not reach it. The next cycle is an initial cycle."
                                    >
                                        <ActionForm action=delete attr:class="inline">
                                            <CsrfField />
                                            <input type="hidden" name="app" value=app_id />
                                            <input type="hidden" name="object" value=o />
                                            <input type="hidden" name="target" value=t.clone() />
                                            <button type="submit" class="btn btn-small btn-danger">"Delete mapping"</button>
                                        </ActionForm>
                                    </Confirm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view();
                let (id_obj, obj_obj) = (id.clone(), obj.clone());
                let (id_restore, obj_restore) = (id.clone(), obj.clone());
                view! {
                    <section class="card">
                        <h3>"Mapping settings"</h3>
                        <ActionForm action=save attr:class="form">
                            <CsrfField />
                            <input type="hidden" name="app" value=id_obj />
                            <input type="hidden" name="object" value=obj_obj />
                            <fieldset disabled=!admin>
                                <div class="field">
                                    <label for="enabled">"Enabled"</label>
                                    <select id="enabled" name="enabled" disabled=is_user>
                                        <option value="on" selected=m.enabled>"Yes"</option>
                                        <option value="off" selected=!m.enabled>"No"</option>
                                    </select>
                                    {is_user.then(|| view! { <p class="muted">"The users mapping cannot be disabled."</p> })}
                                </div>
                                <p>"Target Object Actions"</p>
                                <div class="check"><input type="checkbox" id="action_create" name="action_create" value="on" checked=m.create /><label for="action_create">"Create"</label></div>
                                <div class="check"><input type="checkbox" id="action_update" name="action_update" value="on" checked=m.update /><label for="action_update">"Update"</label></div>
                                <div class="check"><input type="checkbox" id="action_delete" name="action_delete" value="on" checked=m.delete /><label for="action_delete">"Delete"</label></div>
                            </fieldset>
                            {admin.then(|| view! { <button type="submit" class="btn btn-primary">"Save"</button> })}
                        </ActionForm>
                        <p>"Source Object Scope: "<strong data-scope>{scope_text}</strong>" · "
                            <a href=format!("/apps/{id}/provisioning/{obj}/scoping")>{if admin { "Edit scoping filters" } else { "View scoping filters" }}</a></p>
                    </section>
                    <section class="card">
                        <h3>"Attribute Mappings"</h3>
                        <div class="table-wrap">
                            <table class="mappings">
                                <thead><tr>
                                    <th scope="col">"Target attribute"</th>
                                    <th scope="col">"Mapping type"</th>
                                    <th scope="col">"Source"</th>
                                    <th scope="col">"Default value"</th>
                                    <th scope="col">"Matching precedence"</th>
                                    <th scope="col">"Apply this mapping"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                        {admin.then(|| view! {
                            <div class="form-actions">
                                <a class="btn btn-primary" href=format!("/apps/{id}/provisioning/{obj}/attribute")>"Add New Mapping"</a>
                                <Confirm
                                    id="restore-mappings".to_string()
                                    label="Restore default mappings"
                                    title="Restore the default mappings"
                                    consequence="Every attribute mapping of this object is replaced by the application template's defaults: mappings you added or changed are lost. The next cycle is an initial cycle, which sends the defaults' values to every account."
                                >
                                    <ActionForm action=restore attr:class="inline">
                                        <CsrfField />
                                        <input type="hidden" name="app" value=id_restore />
                                        <input type="hidden" name="object" value=obj_restore />
                                        <button type="submit" class="btn btn-danger">"Restore defaults"</button>
                                    </ActionForm>
                                </Confirm>
                            </div>
                        })}
                    </section>
                }.into_any()
            })}
        </Suspense>
        <super::mapping_whatif::MappingWhatIf />
    }
}

#[component]
pub fn AttributePage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let object = route_param("object");
    let target = query_param("target");
    let save = ServerAction::<SaveAttribute>::new();
    let flashed = Resource::new(|| (), |_| take_provisioning_outcome());
    let result = with_flashed(Signal::derive(move || save.value().get()), flashed);
    let data = Resource::new(move || ctx.id.get(), get_provisioning);
    let admin = crate::app::use_session().is_admin();
    view! {
        <p><a href=move || format!("/apps/{}/provisioning/{}", ctx.id.get(), object.get())>"← Attribute Mapping"</a></p>
        <h2>{move || if target.get().is_empty() { "Add attribute" } else { "Edit attribute" }}</h2>
        <p class="alert alert-info">{INITIAL_CYCLE_NOTE}</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                // After a plain form post of the tester, the form shows the expression tested.
                let flashed = flashed.await.ok().flatten();
                let tested = flashed.as_ref().and_then(|o| o.tested.clone());
                // After a plain form post of Preview, the form shows the change previewed.
                let unsaved = flashed.and_then(|o| o.unsaved);
                let v = match data.await {
                    Err(e) => return view! { <ErrorText error=e /> }.into_any(),
                    Ok(v) => v,
                };
                let obj = object.get_untracked();
                let original = target.get_untracked();
                let existing = v
                    .config
                    .mappings
                    .iter()
                    .find(|m| m.object.as_str() == obj)
                    .and_then(|m| m.attributes.iter().find(|a| a.target == original))
                    .cloned();
                if !original.is_empty() && existing.is_none() {
                    return view! { <p class="alert alert-error">{format!("{original} is not mapped.")}</p> }.into_any();
                }
                let mut a = existing.unwrap_or(AttributeMapping {
                    target: String::new(),
                    kind: MappingKind::Direct,
                    source: String::new(),
                    default_value: String::new(),
                    matching: 0,
                    apply_on: ApplyOn::Always,
                });
                if let Some(e) = tested {
                    a.kind = MappingKind::Expression;
                    a.source = e;
                }
                if let Some(u) = unsaved {
                    a = u;
                }
                let sources = if obj == "group" { v.group_sources.clone() } else { v.user_sources.clone() };
                attribute_form(ctx.id.get_untracked(), obj, original, a, sources, save, result, admin).into_any()
            })}
        </Suspense>
    }
}

#[allow(clippy::too_many_arguments)]
fn attribute_form(
    app: String,
    object: String,
    original: String,
    a: AttributeMapping,
    sources: Vec<String>,
    save: ServerAction<SaveAttribute>,
    result: Signal<Option<Result<SaveOutcome, ApiError>>>,
    admin: bool,
) -> impl IntoView {
    let source_value = if a.kind == MappingKind::Direct {
        a.source.clone()
    } else {
        String::new()
    };
    let constant = if a.kind == MappingKind::Constant {
        a.source.clone()
    } else {
        String::new()
    };
    let expression = if a.kind == MappingKind::Expression {
        a.source.clone()
    } else {
        String::new()
    };
    let is_user = object == "user";
    let precedence_value = if a.matching > 0 {
        a.matching.to_string()
    } else {
        String::new()
    };
    view! {
        <section class="card">
            <ActionForm action=save attr:class="form attribute-form">
                <CsrfField />
                <input type="hidden" name="app" value=app />
                <input type="hidden" name="object" value=object />
                <input type="hidden" name="original" value=original />
                <ActionError value=result />
                {move || result.get().and_then(|r| r.ok()).filter(|o| o.expression.is_none() && o.survey.is_none() && o.change.is_none()).map(|o| view! { <p class="alert alert-ok" role="status">{o.message}</p> })}
                <fieldset disabled=!admin>
                    <div class="field">
                        <label for="kind">"Mapping type"</label>
                        <select id="kind" name="kind">
                            {MappingKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=a.kind == *k>{k.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field only-direct">
                        <label for="source_attribute">"Source attribute"</label>
                        <select id="source_attribute" name="source_attribute" aria-invalid=invalid(result, "source_attribute")>
                            <option value="" selected=source_value.is_empty()>"Choose an attribute"</option>
                            {sources.iter().map(|s| view! { <option value=s.clone() selected=*s == source_value>{s.clone()}</option> }).collect_view()}
                        </select>
                        <FieldError value=result field="source_attribute" />
                    </div>
                    <div class="field only-constant">
                        <label for="constant">"Constant Value"</label>
                        <input id="constant" name="constant" type="text" value=constant aria-invalid=invalid(result, "constant") />
                        <FieldError value=result field="constant" />
                    </div>
                    <div class="field only-expression">
                        <label for="expression">"Expression"</label>
                        <textarea id="expression" name="expression" class="mono" rows="4" maxlength="10000" spellcheck="false"
                            aria-invalid=invalid(result, "expression")>{expression}</textarea>
                        <FieldError value=result field="expression" />
                        <p class="muted">"For example "<code>"Join(\" \", [givenName], [surname])"</code>". Functions are case sensitive; attributes are written in [brackets]."</p>
                    </div>
                    <div class="field not-none not-constant">
                        <label for="default_value">"Default value if null (optional)"</label>
                        <input id="default_value" name="default_value" type="text" value=a.default_value.clone() />
                        <p class="muted">"Used only when an object is created."</p>
                    </div>
                    <div class="field">
                        <label for="target">"Target attribute"</label>
                        <input id="target" name="target" type="text" class="mono" list="target-options" required value=a.target.clone()
                            spellcheck="false" aria-invalid=invalid(result, "target") />
                        <datalist id="target-options">
                            {TARGET_SUGGESTIONS.iter().map(|t| view! { <option value=*t /> }).collect_view()}
                        </datalist>
                        <FieldError value=result field="target" />
                    </div>
                    <div class="field">
                        <label for="matching">"Match objects using this attribute"</label>
                        <select id="matching" name="matching">
                            <option value="off" selected=a.matching == 0>"No"</option>
                            <option value="on" selected={a.matching > 0}>"Yes"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="precedence">"Matching precedence"</label>
                        <input id="precedence" name="precedence" type="number" min="1" max="100"
                            value=precedence_value
                            aria-invalid=invalid(result, "precedence") />
                        <FieldError value=result field="precedence" />
                    </div>
                    <div class="field">
                        <label for="apply_on">"Apply this mapping"</label>
                        <select id="apply_on" name="apply_on" aria-invalid=invalid(result, "apply_on")>
                            <option value="always" selected=a.apply_on == ApplyOn::Always>"Always"</option>
                            <option value="create" selected=a.apply_on == ApplyOn::Create>"Only during object creation"</option>
                        </select>
                        <FieldError value=result field="apply_on" />
                    </div>
                </fieldset>
                {admin.then(|| view! {
                    <div class="form-actions">
                        <button type="submit" name="intent" value="save" class="btn btn-primary" disabled=move || save.pending().get()>"Save"</button>
                        <button type="submit" name="intent" value="preview" class="btn" disabled=move || save.pending().get()>"Preview"</button>
                        <span class="muted">"Preview shows what saving would do to the users and groups in the application; nothing is saved or sent."</span>
                    </div>
                })}
                {move || result.get().and_then(|r| r.ok()).and_then(|o| o.change.map(|c| (o.message, c))).map(|(message, change)| view! { <super::preview::ChangePreviewResult message change /> })}
                {is_user.then(|| view! { <ExpressionTester result=result /> })}
            </ActionForm>
        </section>
    }
}
