# Synchronization Rules Editor export (test data written for idsync, in the
# form the editor's Export button produces).

$rule = New-ADSyncRule  `
-Name 'In from AAD - User Join' `
-Identifier '951424f5-f470-4ed6-b567-e7e67afaeb72' `
-Description '' `
-Direction 'Inbound' `
-Precedence 119 `
-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `
-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `
-SourceObjectType 'user' `
-TargetObjectType 'person' `
-Connector 'b891884f-051e-4a83-95af-2544101c9083' `
-LinkType 'Join' `
-SoftDeleteExpiryInterval 0 `
-ImmutableTag 'Microsoft.InfromAADUserJoin.004'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('accountEnabled') `
-Destination 'accountEnabled' `
-FlowType 'Direct' `
-ValueMergeType 'Update'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('cloudAnchor') `
-Destination 'cloudAnchor' `
-FlowType 'Direct' `
-ValueMergeType 'Update'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('sourceAnchor') `
-Destination 'cloudSourceAnchor' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'ImportedValue("sourceAnchor")'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('countryCode') `
-Destination 'countryCode' `
-FlowType 'Direct' `
-ValueMergeType 'Update'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('usageLocation') `
-Destination 'usageLocation' `
-FlowType 'Direct' `
-ValueMergeType 'Update'

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'cloudMastered','False','EQUAL' `
-OutVariable condition0

Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $rule `
-ScopeConditions @($condition0[0])

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.JoinCondition' `
-ArgumentList 'sourceAnchor','sourceAnchor',$true `
-OutVariable condition0

Add-ADSyncJoinConditionGroup  `
-SynchronizationRule $rule `
-JoinConditions @($condition0[0])

$rule | Add-ADSyncRule

Get-ADSyncRule  `
-Identifier '951424f5-f470-4ed6-b567-e7e67afaeb72'

