//! `static PLAN: ::hoist::__private::v1::Plan = …` from the owned IR.

use crate::plan::*;
use crate::schema::LogicalType;
use proc_macro2::TokenStream;
use quote::quote;

fn idx(i: usize) -> proc_macro2::Literal {
    proc_macro2::Literal::usize_unsuffixed(i)
}

fn ty(t: LogicalType) -> TokenStream {
    match t {
        LogicalType::Integer => quote!(LogicalType::Integer),
        LogicalType::Float => quote!(LogicalType::Float),
        LogicalType::Boolean => quote!(LogicalType::Boolean),
        LogicalType::Text => quote!(LogicalType::Text),
        LogicalType::Timestamp => quote!(LogicalType::Timestamp),
        LogicalType::Json => quote!(LogicalType::Json),
        LogicalType::Binary => quote!(LogicalType::Binary),
    }
}

fn role(r: &RoleIr) -> TokenStream {
    match r {
        RoleIr::Data => quote!(Role::Data),
        RoleIr::PrimaryKey => quote!(Role::PrimaryKey),
        RoleIr::Reference { table } => {
            let table = idx(*table);
            quote!(Role::Reference { table: #table })
        }
        RoleIr::PolymorphicId {
            type_column,
            targets,
        } => {
            let targets = targets.iter().map(|(v, t)| {
                let t = idx(*t);
                quote!((#v, #t))
            });
            quote!(Role::PolymorphicId { type_column: #type_column, targets: &[#(#targets),*] })
        }
        RoleIr::PolymorphicType => quote!(Role::PolymorphicType),
        RoleIr::UserReference => quote!(Role::UserReference),
    }
}

fn strs(items: &[String]) -> TokenStream {
    quote!(&[#(#items),*])
}

fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn table(t: &TableIr) -> TokenStream {
    let name = &t.name;
    let columns = t.columns.iter().map(|c| {
        let (n, nullable) = (&c.name, c.nullable);
        let ty = ty(c.ty);
        let role = role(&c.role);
        quote!(Column { name: #n, ty: #ty, nullable: #nullable, role: #role })
    });
    let needs_id_map = t.needs_id_map;
    let existing = strs(&t.existing_match);
    let tokens = strs(&t.tokens);
    let upload = match &t.upload {
        Some(u) => {
            let p = &u.path_column;
            quote!(::core::option::Option::Some(Upload { path_column: #p }))
        }
        None => quote!(::core::option::Option::None),
    };
    let access = opt_str(&t.access_level);
    let policy = strs(&t.policy_columns);
    let user_unique = t.user_unique.iter().map(|cols| strs(cols));
    quote! {
        Table {
            name: #name,
            columns: &[#(#columns),*],
            needs_id_map: #needs_id_map,
            existing_match: #existing,
            tokens: #tokens,
            upload: #upload,
            access_level: #access,
            policy_columns: #policy,
            user_unique: &[#(#user_unique),*],
        }
    }
}

fn node(n: &NodeIr) -> TokenStream {
    let name = &n.name;
    let table = idx(n.table);
    let cardinality = match n.cardinality {
        Cardinality::Root => quote!(Cardinality::Root),
        Cardinality::HasMany => quote!(Cardinality::HasMany),
        Cardinality::HasOne => quote!(Cardinality::HasOne),
        Cardinality::BelongsTo => quote!(Cardinality::BelongsTo),
    };
    let link = match &n.link {
        LinkIr::Root => quote!(Link::Root),
        LinkIr::ChildFk { column } => quote!(Link::ChildFk { column: #column }),
        LinkIr::Polymorphic {
            id_column,
            type_column,
            type_value,
        } => {
            quote!(Link::Polymorphic { id_column: #id_column, type_column: #type_column, type_value: #type_value })
        }
        LinkIr::ParentFk { column } => quote!(Link::ParentFk { column: #column }),
    };
    let order = n.order.iter().map(|o| {
        let (c, d, nf) = (&o.column, o.descending, o.nulls_first);
        quote!(OrderBy { column: #c, descending: #d, nulls_first: #nf })
    });
    let methods = strs(&n.methods);
    let (conditional, import_only) = (n.conditional, n.import_only);
    let children = n.children.iter().map(node);
    quote! {
        Node {
            name: #name,
            table: #table,
            cardinality: #cardinality,
            link: #link,
            order: &[#(#order),*],
            methods: #methods,
            conditional: #conditional,
            import_only: #import_only,
            children: &[#(#children),*],
        }
    }
}

/// The `PLAN` static. Names inside come from a glob import of `::hoist::__private::v1` scoped to
/// the initializer block, so the caller's namespace is untouched.
pub fn plan_static(plan: &PlanIr) -> TokenStream {
    let tables = plan.tables.iter().map(table);
    let root = node(&plan.root);
    let users = match &plan.users {
        Some(u) => {
            let t = &u.table;
            let keys = strs(&u.natural_keys);
            let admin = opt_str(&u.admin_column);
            quote!(::core::option::Option::Some(Users { table: #t, natural_keys: #keys, admin_column: #admin }))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        /// The compiled tenant description that drives the export and import engines.
        pub static PLAN: ::hoist::__private::v1::Plan = {
            use ::hoist::__private::v1::*;
            Plan {
                format_version: self::FORMAT_VERSION,
                schema_digest: self::SCHEMA_DIGEST,
                tables: &[#(#tables),*],
                root: #root,
                users: #users,
            }
        };
    }
}
