# Synchronization Rules Editor export (test data written for idsync, in the
# form the editor's Export button produces).

New-ADSyncRule  `
-Name 'Out to AAD - Group Join' `
-Identifier '039dcc3a-1513-4c08-b296-0973691e644a' `
-Description '' `
-Direction 'Outbound' `
-Precedence 139 `
-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `
-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `
-SourceObjectType 'group' `
-TargetObjectType 'group' `
-Connector 'b891884f-051e-4a83-95af-2544101c9083' `
-LinkType 'Provision' `
-SoftDeleteExpiryInterval 0 `
-ImmutableTag 'Microsoft.OuttoAADGroupJoin.006' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('cn') `
-Destination 'commonName' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('sourceAnchor') `
-Destination 'dn' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression '"CN={" & ConvertToUTF8Hex([sourceAnchor]) & "}"' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('member') `
-Destination 'member' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(([memberCount]> 50000),Error("Maximum Group member count exceeded"),IgnoreThisFlow)' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('objectSid') `
-Destination 'onPremiseSecurityIdentifier' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('cloudSourceAnchor','sourceAnchor') `
-Destination 'sourceAnchor' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(IsPresent([cloudSourceAnchor]),IIF([cloudSourceAnchor] = [sourceAnchor],[sourceAnchor],Error("SourceAnchor attribute has changed.")),[sourceAnchor])' `
-OutVariable syncRule

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $syncRule[0] `
-Source @('securityEnabled') `
-Destination 'securityEnabled' `
-FlowType 'Direct' `
-ValueMergeType 'Update' `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudFiltered','True','NOTEQUAL' `
-OutVariable condition0

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'sourceAnchor','','ISNOTNULL' `
-OutVariable condition1

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudMastered','True','NOTEQUAL' `
-OutVariable condition2

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'securityEnabled','True','EQUAL' `
-OutVariable condition3

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudAnchor','','ISNOTNULL' `
-OutVariable condition4

Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0],$condition1[0],$condition2[0],$condition3[0],$condition4[0]) `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudFiltered','True','NOTEQUAL' `
-OutVariable condition0

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'sourceAnchor','','ISNOTNULL' `
-OutVariable condition1

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudMastered','True','NOTEQUAL' `
-OutVariable condition2

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'securityEnabled','True','EQUAL' `
-OutVariable condition3

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'memberCount','50000','LESSTHAN' `
-OutVariable condition4

Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0],$condition1[0],$condition2[0],$condition3[0],$condition4[0]) `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudFiltered','True','NOTEQUAL' `
-OutVariable condition0

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'sourceAnchor','','ISNOTNULL' `
-OutVariable condition1

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudMastered','True','NOTEQUAL' `
-OutVariable condition2

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'mailEnabled','True','EQUAL' `
-OutVariable condition3

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudAnchor','','ISNOTNULL' `
-OutVariable condition4

Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0],$condition1[0],$condition2[0],$condition3[0],$condition4[0]) `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudFiltered','True','NOTEQUAL' `
-OutVariable condition0

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'sourceAnchor','','ISNOTNULL' `
-OutVariable condition1

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudMastered','True','NOTEQUAL' `
-OutVariable condition2

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'mailEnabled','True','EQUAL' `
-OutVariable condition3

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'memberCount','50000','LESSTHAN' `
-OutVariable condition4

Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $syncRule[0] `
-ScopeConditions @($condition0[0],$condition1[0],$condition2[0],$condition3[0],$condition4[0]) `
-OutVariable syncRule

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'sourceAnchor','sourceAnchor',$false `
-OutVariable condition0

Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $syncRule[0] `
-JoinConditions @($condition0[0]) `
-OutVariable syncRule

Add-ADSyncRule  `
-SynchronizationRule $syncRule[0]

Get-ADSyncRule  `
-Identifier '039dcc3a-1513-4c08-b296-0973691e644a'

