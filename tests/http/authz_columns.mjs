// The columns of the authorisation matrices (authz_matrix, authz_writes, authz_pages): who signs
// in, with the purpose each works for. All but `ngo` are staff of the city's agency; `ngo` is a
// caseworker of the harbour trust, another agency, for which no agreement shares anything for
// case work. CLIENT and CASEWORK name the city's roles that work with client records.
export const kWho = {
  frontdesk: ['frontdesk.city', 'front_desk'],
  caseworker: ['caseworker.city', 'case_work'],
  coordinator: ['coordinator.city', 'service_delivery'],
  manager: ['manager.city', 'service_delivery'],
  auditor: ['auditor.city', 'audit'],
  admin: ['admin.city', 'administration'],
  governance: ['governance.city', 'service_delivery'],
  ngo: ['caseworker.ngo', 'case_work'],
};
export const CLIENT = ['frontdesk', 'caseworker', 'coordinator', 'manager'];
export const CASEWORK = ['caseworker', 'coordinator', 'manager'];
